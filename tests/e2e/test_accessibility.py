"""WCAG 2.2 AA as outside checkers see it: axe-core on every page (light and dark), the keyboard reaching
everything without it hiding under the app bar or the tab bar, and text at 200% without sideways scrolling
or clipped amounts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from webapp.extensions import new_uow
from webapp.money import Money
from webapp.services import accounts, adjustments

pytestmark = pytest.mark.e2e


def funded_user(live_app, *, usd: int = 1_234_567_89, eur: int = 0, verified: bool = True) -> str:
    """Verified: others can send to the email. The one whose pages are checked is not, so its profile shows
    the "Resend link" and phone-code forms too."""
    with live_app.app_context():
        user = accounts.register(new_uow(), email=unique_email("a11y"), password=PASSWORD, phone=unique_phone(),
                                 verified=verified)
        adjustments.credit(new_uow(), email=user.email, amount=Money(usd, "USD"), reason="opening balance")
        if eur:
            adjustments.credit(new_uow(), email=user.email, amount=Money(eur, "EUR"), reason="opening balance")
    return user.email


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("balance-USD")).to_be_visible()


def every_page(page: Page, email: str, other: str):
    """Visit each page a signed-in person meets, yielding a name for each."""
    for path, name in [("/", "dashboard"), ("/send", "send"), ("/history", "history"), ("/profile", "profile"),
                       ("/transactions/00000000-0000-0000-0000-000000000000", "not-found")]:
        page.goto(path)
        yield name
    page.goto("/send")
    page.get_by_role("button", name="Review").click()  # empty: every problem at once
    expect(page.locator("[data-error-summary]")).to_be_focused()
    yield "send-errors"
    page.get_by_label("To", exact=True).fill(other)
    page.get_by_label("Amount", exact=True).fill("12.50")
    page.get_by_role("button", name="Review").click()
    yield "review"
    page.get_by_role("button", name="Send $12.50").click()
    expect(page.get_by_test_id("receipt-amount")).to_be_visible()
    yield "receipt"
    yield from add_money_pages(page)


def add_money_pages(page: Page):
    """Add money: the form with a problem, the review, the card form (the Stripe.js stand-in) and its outcome."""
    page.goto("/add-money")
    page.get_by_label("Amount", exact=True).fill("0")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    yield "add-money-errors"
    page.get_by_label("Amount", exact=True).fill("25.00")
    page.get_by_role("button", name="Review").click()
    yield "add-money-review"
    page.get_by_role("button", name="Continue to card").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    yield "add-money-card"
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date").fill("12 / 34")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay $25.00").click()
    expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "completed", timeout=15_000)
    yield "add-money-added"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_any_page(phone, live_app, axe, screenshot, scheme):
    page = phone()
    page.emulate_media(color_scheme=scheme)
    for path, name in [("/login", "login"), ("/signup", "signup"), ("/forgot-password", "forgot-password")]:
        page.goto(path)
        axe(page, f"{name} ({scheme})")
    page.goto("/signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    axe(page, f"signup-errors ({scheme})")

    email, other = funded_user(live_app, eur=5_000, verified=False), funded_user(live_app)
    sign_in(page, email)
    for name in every_page(page, email, other):
        axe(page, f"{name} ({scheme})")
        screenshot(page, f"a11y-{scheme}-{name}")


def test_the_keyboard_reaches_everything_and_nothing_hides_under_the_bars(phone, live_app):
    page = phone()
    sign_in(page, funded_user(live_app, verified=False))
    other = funded_user(live_app)
    steps = every_page(page, "", other)
    for name in steps:
        if name not in {"dashboard", "send", "receipt", "profile"}:
            continue
        # camera.js swaps the file input for its buttons once it knows there is a camera: tab after that
        page.wait_for_function("() => [...document.querySelectorAll('[data-camera]')]"
                               ".every(c => c.dataset.cameraReady)")
        seen = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            focus = page.evaluate("""() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const r = el.getBoundingClientRect();
                const bar = document.querySelector('.tabbar'), top = document.querySelector('.appbar');
                const barTop = bar && !bar.contains(el) ? bar.getBoundingClientRect().top : innerHeight;
                const topBottom = top && !top.contains(el) && getComputedStyle(top).display !== 'none'
                    ? top.getBoundingClientRect().bottom : 0;
                return {what: el.outerHTML.slice(0, 80), top: r.top, bottom: r.bottom, barTop, topBottom,
                        ring: getComputedStyle(el.closest('.amount-input') || el).outlineStyle};
            }""")
            if focus is None or focus["what"] in seen:
                break
            seen.add(focus["what"])
            assert focus["bottom"] <= focus["barTop"] + 1, (name, focus)  # not hidden by the tab bar
            assert focus["top"] >= focus["topBottom"] - 1, (name, focus)  # nor by the app bar
            assert focus["ring"] != "none", (name, focus)  # and visibly focused (the amount: its frame)
        assert len(seen) >= 3, (name, seen)


def test_text_at_200_percent_neither_scrolls_sideways_nor_clips_amounts(phone, live_app, screenshot):
    page = phone()
    sign_in(page, funded_user(live_app, eur=98_765_43, verified=False))
    for path in ("/", "/send", "/add-money", "/history", "/profile"):
        page.goto(path)
        page.evaluate("document.documentElement.style.fontSize = '200%'")  # the phone's largest text setting
        overflow = page.evaluate("""() => ({
            page: document.documentElement.scrollWidth - innerWidth,
            clipped: [...document.querySelectorAll('.balance-amount, .tx-amount, .row-amount, .confirm-amount')]
                .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.textContent)})""")
        screenshot(page, f"text-200{path.replace('/', '-') or '-home'}")
        assert overflow == {"page": 0, "clipped": []}, (path, overflow)
