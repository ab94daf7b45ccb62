"""Withdraw to a bank (the dashboard's Bank transfer tile): choose the account and amount → review →
receipt, whose status follows the payout until it is paid or failed.

The send flow's shape (web/send.py): every problem at once next to its field, Post/Redirect/Get, and a
review that is a GET of a draft carrying the idempotency key, so a double tap or Back-then-confirm holds
the money once. The payout itself runs in a job; its status partial polls itself while it is pending or
processing (HTMX), on the receipt page, and works without JavaScript as a plain status line."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from htmx_flask import request as htmx_request

from webapp.errors import DomainError, FieldErrors, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models import BankAccount, Wallet
from webapp.money import Money
from webapp.services import accounts, bank_accounts, history, payouts, wallets
from webapp.web import bp, drafts, pin_prompt
from webapp.web.forms import FORM, errors_for, redirect_back, text
from webapp.web.send_form import check_amount, chosen_wallet, wallet_for_currency

KIND = "withdraw"
MONEY_LIMIT = "30 per minute"
POLL_LIMIT = "240 per minute"  # the status polls once a second while a payout is on its way
CODE_FIELDS = {"INSUFFICIENT_FUNDS": "amount", "CURRENCY_MISMATCH": "account", "NOT_FOUND": "account"}
ALIASES = {"wallet_id": "wallet", "bank_account_id": "account", "currency": "wallet", "idempotency_key": FORM}


@dataclass(frozen=True)
class WithdrawForm:
    wallet: str = ""  # the id of one of the user's wallets
    account: str = ""  # the id of one of the user's bank accounts
    amount: str = ""

    @classmethod
    def from_request(cls) -> WithdrawForm:
        return cls(wallet=text("wallet", 36), account=text("account", 36), amount=text("amount", 40))

    @classmethod
    def of(cls, values: dict) -> WithdrawForm:
        return cls(**{name: str(values.get(name, "")) for name in ("wallet", "account", "amount")})

    def values(self) -> dict[str, str]:
        return asdict(self)


def parse(form: WithdrawForm, mine: list[Wallet], banks: list[BankAccount], *,
          courtesy: bool = True) -> tuple[Wallet, BankAccount, Money]:
    """Every problem at once. The balance check only warns early: the payout checks again under the lock."""
    problems = FieldErrors()
    wallet = chosen_wallet(form, mine)
    if wallet is None:
        problems.add("wallet", "Choose the wallet to withdraw from.")
    only = banks[0] if len(banks) == 1 and not form.account else None
    account = next((a for a in banks if a.id == form.account), only)
    if account is None:
        problems.add("account", "Choose the bank account to send the money to.")
    elif wallet is not None and account.currency != wallet.currency:
        problems.add("account", f"This account takes {account.currency}: withdraw from your {account.currency} "
                                "wallet, or choose another account.")
    amount, message = check_amount(form.amount, wallet, courtesy=courtesy)
    if message:
        problems.add("amount", message)
    problems.raise_any()
    return wallet, account, amount


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _banks():
    return bank_accounts.list_for(new_uow(), user_id=current_user.id)


def _back_to_form(form: WithdrawForm, error: DomainError, draft: drafts.Draft | None = None):
    placed = errors_for(error, ALIASES, CODE_FIELDS.get(error.code, FORM))
    return redirect_back(KIND, url_for("web.withdraw_form", draft=draft.id if draft else None), form.values(), placed)


@bp.get("/withdraw")
@login_required
def withdraw_form():
    """The form: empty, prefilled from a draft (Edit on the review page), or back with its problems. Until
    the person's identity is verified it says so instead: the payout would be refused."""
    mine, banks = _mine(), _banks()
    wallet = wallet_for_currency(mine, request.args.get("currency"))
    blank = WithdrawForm(wallet=wallet.id if wallet else "", account=banks[0].id if banks else "")
    values, errors = drafts.opening(KIND, blank.values())
    form = WithdrawForm.of(values)
    verified = accounts.get_user(new_uow(), current_user.id).kyc_status == "verified"
    return render_template("withdraw/page.html", form=form, wallets=mine, wallet=chosen_wallet(form, mine) or wallet,
                           banks=banks, errors=errors, verified=verified)


@bp.post("/withdraw")
@login_required
@limiter.limit(MONEY_LIMIT)
def withdraw_review():
    form = WithdrawForm.from_request()
    try:
        parse(form, _mine(), _banks())
    except ValidationError as error:
        return _back_to_form(form, error)
    draft = drafts.save(KIND, form.values())
    return redirect(url_for("web.withdraw_confirm", draft_id=draft.id), 303)


@bp.route("/withdraw/review/<draft_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(MONEY_LIMIT, methods=["POST"])
def withdraw_confirm(draft_id: str):
    """GET shows the review (or the receipt, if this draft was already confirmed); POST holds the money and
    queues the payout, then shows the receipt, whose status follows it."""
    draft = drafts.load(KIND, draft_id)
    if draft is None:
        flash("That review has expired. Check the details and review again.", "info")
        return redirect(url_for("web.withdraw_form"), 303)
    made = payouts.made_with_key(new_uow(), user_id=current_user.id, idempotency_key=draft.key)
    if made is not None and request.method == "GET":
        return redirect(url_for("web.transaction_detail", transaction_id=made.id), 303)
    form = WithdrawForm.of(draft.values)
    try:
        wallet, account, amount = parse(form, _mine(), _banks(), courtesy=request.method == "GET")
        if request.method == "GET":
            return render_template("withdraw/confirm.html", wallet=wallet, account=account, amount=amount,
                                   draft_id=draft.id, pin=pin_prompt.prompt(KIND))
        payout = payouts.request(new_uow(), user_id=current_user.id, wallet_id=wallet.id, bank_account_id=account.id,
                                 amount=amount.amount, currency=amount.currency, idempotency_key=draft.key,
                                 pin=pin_prompt.typed())
    except pin_prompt.REFUSALS as error:  # the same review again, the message under the PIN
        return pin_prompt.back_to_review(KIND, url_for("web.withdraw_confirm", draft_id=draft.id), error)
    except DomainError as error:
        return _back_to_form(form, error, draft)
    return redirect(url_for("web.transaction_detail", transaction_id=payout.id), 303)


@bp.get("/withdraw/<payout_id>/status")
@login_required
@limiter.limit(POLL_LIMIT)
def withdraw_status(payout_id: str):
    """The status fragment: with a polling trigger while the payout is on its way, without once it ended.
    Its final rendering also updates the receipt's status line (an out-of-band swap)."""
    payout = payouts.get(new_uow(), user_id=current_user.id, payout_id=payout_id)
    tx = history.get(new_uow(), user_id=current_user.id, transaction_id=payout.id)
    return render_template("withdraw/_status.html", payout=payout, tx=tx, oob=bool(htmx_request.htmx))
