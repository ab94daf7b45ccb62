"""Jinja filters: money is always formatted by Money/Babel, never by hand, and a signed amount uses a
real minus sign so debits read like they do in every banking app."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from babel.numbers import get_currency_name, get_currency_symbol
from flask import request
from markupsafe import Markup, escape

from webapp.models.base import utcnow
from webapp.money import Money
from webapp.web import bp

MINUS = "\u2212"
PAYMENT_LABELS = {"college": "College payment", "school": "School payment", "utility": "Bill payment",
                  "merchant": "Shop payment"}


@bp.app_template_filter("money")
def money(value, currency: str | None = None) -> str:
    """`{{ wallet.balance|money(wallet.currency) }}` or `{{ some_money|money }}`."""
    amount = value if isinstance(value, Money) else Money(int(value), currency)
    return amount.format()


@bp.app_template_filter("signed")
def signed(tx) -> str:
    """+$12.50 for money in, −$12.50 for money out."""
    sign = "+" if tx.direction == "credit" else MINUS
    return sign + Money(tx.amount, tx.currency).format()


@bp.app_template_filter("when")
def when(value: datetime) -> str:
    """Timestamps are stored as naive UTC; say so rather than guess the reader's zone."""
    return format_datetime(value, "MMM d, y · h:mm a", locale="en_US") + " UTC"


@bp.app_template_filter("day")
def day(value: datetime) -> str:
    """Short enough for a list row on a phone, with the time, since two payments on one day are common:
    "Nov 23, 3:04 PM UTC", with the year only when it is not this one."""
    pattern = "MMM d, h:mm a" if value.year == utcnow().year else "MMM d, y, h:mm a"
    return format_datetime(value, pattern, locale="en_US") + " UTC"


@bp.app_template_filter("currency_name")
def currency_name(code: str) -> str:
    return get_currency_name(code, locale="en_US")


@bp.app_template_filter("currency_symbol")
def currency_symbol(code: str) -> str:
    return get_currency_symbol(code, locale="en_US")


@bp.app_template_filter("party")
def party(tx) -> str:
    """Who was on the other side of a transaction, in the words a user recognises: the name the transfer
    recorded for them (services/recipients.py, Party.shown_to); rows from before names, their email."""
    other = tx.counterparty or {}
    return other.get("name") or other.get("email") or other.get("phone") or "E-Wallet"


@bp.app_template_filter("email")
def email(address: str) -> Markup:
    """Let a long address wrap before the @ rather than in the middle of a word on a narrow screen."""
    local, at, domain = (address or "").partition("@")
    return escape(local) + (Markup("<wbr>@") + escape(domain) if at else "")


@bp.app_template_filter("breakable")
def breakable(text: str) -> Markup:
    """A big amount may wrap after a group separator ("$1,234,<wbr>567.89") when the text is large, rather
    than in the middle of a group."""
    return Markup(",<wbr>").join(escape(part) for part in str(text).split(","))


@bp.app_template_filter("initial")
def initial(text: str) -> str:
    return (text or "?").strip()[:1].upper() or "?"


@bp.app_template_filter("label")
def label(tx) -> str:
    """What kind of movement this was, from the reader's side."""
    if tx.kind == "transfer":
        return "Received" if tx.direction == "credit" else "Sent"
    if tx.kind == "payout":
        return "Withdrawal"
    if tx.kind == "topup":
        return "Mobile top-up"
    if tx.kind == "adjustment":
        return "Money added" if tx.direction == "credit" else "Adjustment"
    if tx.kind == "institution_payment":
        return PAYMENT_LABELS.get((tx.counterparty or {}).get("kind"), "Payment")
    return tx.kind.replace("_", " ").capitalize()


@bp.app_template_filter("reference")
def reference(tx) -> list[tuple[str, str, str]]:
    """The structured reference of an institution payment: (name, label, value), in the order it was kept
    (services/institution_payments.py). Labels are the ones the payer saw when paying."""
    meta = tx.meta or {}
    labels = meta.get("reference_labels") or {}
    return [(name, labels.get(name, name), value) for name, value in (meta.get("reference") or {}).items()]


@bp.app_context_processor
def navigation() -> dict:
    """The bottom tab bar highlights the area the current page belongs to."""
    endpoint = request.endpoint or ""
    area = endpoint.removeprefix("web.").split("_", 1)[0]
    return {"nav_area": {"transaction": "history"}.get(area, area)}
