"""What the send form carries and how it is read. Checking is strict and collects every problem at once,
the unknown recipient included, so a person fixes the whole form in one go instead of discovering
errors one submit at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from webapp.errors import FieldErrors, ValidationError
from webapp.extensions import new_uow
from webapp.models import Wallet
from webapp.money import MAX_MINOR, Money
from webapp.services import recipients
from webapp.services.recipients import Party, Recipient
from webapp.services.transfers import MAX_NOTE
from webapp.web.forms import FORM, text

# Service field names and error codes → the form field whose message they are.
ALIASES = {"recipient": "to", "email": "to", "phone": "to", "currency": "wallet", "idempotency_key": FORM}
CODE_FIELDS = {"INSUFFICIENT_FUNDS": "amount", "LIMIT_EXCEEDED": "amount", "CURRENCY_MISMATCH": "to",
               "NOT_FOUND": "to", "KYC_REQUIRED": FORM, "ACCOUNT_FROZEN": FORM, "IDEMPOTENCY_CONFLICT": FORM}


@dataclass(frozen=True)
class SendForm:
    to: str = ""
    amount: str = ""
    wallet: str = ""  # the id of one of the sender's wallets
    note: str = ""

    @classmethod
    def from_request(cls) -> SendForm:
        return cls(to=text("to", 254), amount=text("amount", 40), wallet=text("wallet", 36),
                   note=text("note", MAX_NOTE + 1))

    @classmethod
    def of(cls, values: dict) -> SendForm:
        return cls(**{name: str(values.get(name, "")) for name in ("to", "amount", "wallet", "note")})

    def values(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Draft:
    """A send form that parsed: who, how much, from which wallet. Still unchecked against the ledger."""

    to: Recipient
    amount: Money
    wallet: Wallet
    note: str


def chosen_wallet(form: SendForm, mine: list[Wallet]) -> Wallet | None:
    """The wallet the form names, if it is one of ours; the only wallet when there is just one."""
    if len(mine) == 1 and not form.wallet:
        return mine[0]
    return next((w for w in mine if w.id == form.wallet), None)


def wallet_for_currency(mine: list[Wallet], currency: str | None) -> Wallet | None:
    """The wallet a link asked for (?currency=EUR, e.g. "Send more" on a receipt), else the first one."""
    code = (currency or "").upper()
    return next((w for w in mine if w.currency == code), mine[0] if mine else None)


def check_recipient(raw: str) -> str | None:
    if not raw:
        return "Enter the recipient's email or mobile number."
    if "@" not in raw and not any(ch.isdigit() for ch in raw):
        return "Enter an email address or a mobile number."
    return None


def check_amount(raw: str, wallet: Wallet | None, *, courtesy: bool = True) -> tuple[Money | None, str | None]:
    """The amount in the wallet's currency, or why not. The balance check (`courtesy`) only warns early:
    the transfer itself checks again under the wallet lock."""
    if wallet is None:
        return None, None
    if not raw:
        return None, "Enter an amount."
    try:
        amount = Money.parse(raw, wallet.currency)
    except ValidationError as error:
        return None, error.message
    if amount.amount <= 0:
        return None, "Enter an amount greater than zero."
    if amount.amount > MAX_MINOR:
        return None, "That amount is too large."
    if courtesy and amount > wallet.available:
        return None, f"You have {wallet.available.format()} available."
    return amount, None


def parse(form: SendForm, mine: list[Wallet], *, courtesy: bool = True, problems: FieldErrors | None = None) -> Draft:
    """`courtesy=False` on confirm: a second tap of an already-sent form must reach the transfer service,
    which replays the first receipt, instead of being stopped by the balance that first send spent."""
    problems = problems if problems is not None else FieldErrors()
    wallet = chosen_wallet(form, mine)
    if wallet is None:
        problems.add("wallet", "Choose the wallet to send from.")
    if message := check_recipient(form.to):
        problems.add("to", message)
    amount, message = check_amount(form.amount, wallet, courtesy=courtesy)
    if message:
        problems.add("amount", message)
    if len(form.note) > MAX_NOTE:
        problems.add("note", f"Keep the note under {MAX_NOTE} characters.")
    problems.raise_any()
    return Draft(Recipient.from_text(form.to), amount, wallet, form.note)


def review(form: SendForm, mine: list[Wallet], *, sender_id: str) -> tuple[Draft, Party]:
    """Parse the form and find who it would pay, reporting every problem of both at once."""
    problems = FieldErrors()
    wallet = chosen_wallet(form, mine)
    who = None
    if wallet is not None and not check_recipient(form.to):
        who = problems.check("to", recipients.preview, new_uow(), sender_id=sender_id,
                             to=Recipient.from_text(form.to), currency=wallet.currency)
    draft = parse(form, mine, problems=problems)
    return draft, who
