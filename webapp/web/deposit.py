"""Add money by card: choose the wallet and amount → review → the card page → "Added $25.00".

The first two steps are the send flow's (web/forms.py, web/drafts.py): every problem at once with
Post/Redirect/Get, and a review that is a GET of a draft carrying the idempotency key, so a double tap on
"Continue" starts one deposit and one PaymentIntent. The card page is a GET of the pending deposit; card
data goes from Stripe.js straight to Stripe (static/js/card.js), never through us, and only the verified
webhook credits the wallet. The status below the card form polls itself until that has happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.errors import DomainError, FieldErrors, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models import Wallet
from webapp.money import Money
from webapp.services import deposits, history, wallets
from webapp.web import bp, drafts
from webapp.web.forms import FORM, errors_for, redirect_back, text
from webapp.web.send_form import check_amount, chosen_wallet, wallet_for_currency

KIND = "deposit"
MONEY_LIMIT = "30 per minute"
POLL_LIMIT = "240 per minute"  # the status polls once a second while a deposit is pending
CODE_FIELDS = {"LIMIT_EXCEEDED": "amount", "CURRENCY_MISMATCH": "wallet", "NOT_FOUND": "wallet"}
ALIASES = {"wallet_id": "wallet", "currency": "wallet", "idempotency_key": FORM}


@dataclass(frozen=True)
class DepositForm:
    wallet: str = ""  # the id of one of the user's wallets
    amount: str = ""

    @classmethod
    def from_request(cls) -> DepositForm:
        return cls(wallet=text("wallet", 36), amount=text("amount", 40))

    @classmethod
    def of(cls, values: dict) -> DepositForm:
        return cls(wallet=str(values.get("wallet", "")), amount=str(values.get("amount", "")))

    def values(self) -> dict[str, str]:
        return asdict(self)


def parse(form: DepositForm, mine: list[Wallet]) -> tuple[Wallet, Money]:
    """Every problem of the form at once. Limits are the service's to check: it knows today's total."""
    problems = FieldErrors()
    wallet = chosen_wallet(form, mine)
    if wallet is None:
        problems.add("wallet", "Choose the wallet to add money to.")
    amount, message = check_amount(form.amount, wallet, courtesy=False)
    if message:
        problems.add("amount", message)
    problems.raise_any()
    return wallet, amount


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _back_to_form(form: DepositForm, error: DomainError, draft: drafts.Draft | None = None):
    placed = errors_for(error, ALIASES, CODE_FIELDS.get(error.code, FORM))
    return redirect_back(KIND, url_for("web.deposit_form", draft=draft.id if draft else None), form.values(), placed)


@bp.get("/add-money")
@login_required
def deposit_form():
    """The form: empty, prefilled from a draft (Edit, or Try again after a failed card), or with problems."""
    mine = _mine()
    wallet = wallet_for_currency(mine, request.args.get("currency"))
    values, errors = drafts.opening(KIND, DepositForm(wallet=wallet.id if wallet else "").values())
    form = DepositForm.of(values)
    wallet = chosen_wallet(form, mine) or wallet
    return render_template("deposit/page.html", form=form, wallets=mine, wallet=wallet, errors=errors)


@bp.post("/add-money")
@login_required
@limiter.limit(MONEY_LIMIT)
def deposit_review():
    form = DepositForm.from_request()
    try:
        parse(form, _mine())
    except ValidationError as error:
        return _back_to_form(form, error)
    draft = drafts.save(KIND, form.values())
    return redirect(url_for("web.deposit_confirm", draft_id=draft.id), 303)


@bp.route("/add-money/review/<draft_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(MONEY_LIMIT, methods=["POST"])
def deposit_confirm(draft_id: str):
    """GET shows what will happen; POST starts the deposit with the draft's key (a second POST of the same
    draft gets the same deposit back) and goes to its card page."""
    draft = drafts.load(KIND, draft_id)
    if draft is None:
        flash("That review has expired. Check the amount and continue again.", "info")
        return redirect(url_for("web.deposit_form"), 303)
    form = DepositForm.of(draft.values)
    try:
        wallet, amount = parse(form, _mine())
        if request.method == "GET":
            return render_template("deposit/confirm.html", wallet=wallet, amount=amount, draft_id=draft.id)
        deposit = deposits.start(new_uow(), user_id=current_user.id, wallet_id=wallet.id, amount=amount,
                                 idempotency_key=draft.key)
    except DomainError as error:
        return _back_to_form(form, error, draft)
    return redirect(url_for("web.deposit_card", transaction_id=deposit.transaction.id, draft=draft.id), 303)


def _deposit(transaction_id: str):
    """The user's own deposit; anything else is the calm 404 (someone else's id looks like no id at all)."""
    tx = history.get(new_uow(), user_id=current_user.id, transaction_id=transaction_id)
    if tx.kind != "deposit":
        abort(404)
    return tx


@bp.get("/add-money/<transaction_id>")
@login_required
def deposit_card(transaction_id: str):
    """The card form while the deposit waits for a card; its outcome once the webhook has settled it.
    Stripe sends people back here after a bank's own 3-D Secure page with `redirect_status`: then the
    status is what matters, and the card form is not shown again."""
    returned = request.args.get("redirect_status")
    if returned is not None:
        deposits.check(new_uow(), user_id=current_user.id, transaction_id=transaction_id)
    tx = _deposit(transaction_id)
    secret = None
    if tx.status == "pending" and returned is None:
        secret = deposits.client_secret_for(new_uow(), user_id=current_user.id, transaction_id=tx.id)
    config = current_app.config
    return render_template("deposit/card.html", tx=tx, client_secret=secret, reason=_reason(tx, returned),
                           returned=returned, draft_id=request.args.get("draft", ""), wallet=_wallet_of(tx),
                           stripe_js=config["STRIPE_JS_URL"], publishable_key=config["STRIPE_PUBLISHABLE_KEY"],
                           return_url=url_for("web.deposit_card", transaction_id=tx.id, _external=True))


@bp.get("/add-money/<transaction_id>/status")
@login_required
@limiter.limit(POLL_LIMIT)
def deposit_status(transaction_id: str):
    """The status fragment. It re-renders itself with a polling trigger while pending, without once final.
    `check=1` (card.js, after Stripe.js reported a failed attempt) first asks Stripe what happened."""
    if request.args.get("check") == "1":
        deposits.check(new_uow(), user_id=current_user.id, transaction_id=transaction_id)
    tx = _deposit(transaction_id)
    return render_template("deposit/_status.html", tx=tx, wallet=_wallet_of(tx), reason=_reason(tx, None),
                           draft_id=request.args.get("draft", ""))


def _reason(tx, returned: str | None) -> str:
    """Why a deposit failed, in the words the webhook recorded (Stripe's own, e.g. "Your card was declined.")."""
    if tx.status == "pending" and returned == "failed":
        return "Your bank could not confirm the payment."
    return (tx.meta or {}).get("reason") or "The card payment did not go through."


def _wallet_of(tx) -> Wallet | None:
    return next((w for w in _mine() if w.id == tx.wallet_id), None)
