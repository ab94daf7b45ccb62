"""What the top-up form carries and how it is read: every problem at once, each under its field. The
number, the operator and the amount's limits are checked by the same service as the API
(services/topups.preview); this module adds what only a form has (amounts typed as "10.00", a choice of
wallet) and maps the service's field names onto the form's."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask_login import current_user

from webapp.errors import FieldErrors
from webapp.extensions import new_uow
from webapp.models import Wallet
from webapp.providers import airtime
from webapp.services import topups
from webapp.services.topup_numbers import Target
from webapp.web.forms import FORM, text
from webapp.web.send_form import check_amount, chosen_wallet

ALIASES = {"wallet_id": "wallet", "currency": "wallet", "idempotency_key": FORM}
CODE_FIELDS = {"INSUFFICIENT_FUNDS": "amount", "LIMIT_EXCEEDED": "amount", "NOT_FOUND": "wallet"}
COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "KE": "Kenya", "NG": "Nigeria", "IN": "India"}


@dataclass(frozen=True)
class TopupForm:
    wallet: str = ""  # the id of one of the user's wallets
    mobile_number: str = ""  # as typed
    operator: str = ""  # an operator id, or "" to detect it from the number
    amount: str = ""  # major units as typed, e.g. "10.00"

    @classmethod
    def from_request(cls) -> TopupForm:
        return cls(wallet=text("wallet", 36), mobile_number=text("mobile_number", 40),
                   operator=text("operator", 32), amount=text("amount", 40))

    @classmethod
    def of(cls, values: dict) -> TopupForm:
        return cls(**{name: str(values.get(name, "")) for name in ("wallet", "mobile_number", "operator", "amount")})

    def values(self) -> dict[str, str]:
        return asdict(self)


def review(form: TopupForm, mine: list[Wallet], *, courtesy: bool = True) -> tuple[Wallet, Target]:
    """The wallet and the checked top-up, or a ValidationError with every problem. `courtesy=False` on
    confirm: a second tap must reach the service, which replays the first top-up, rather than be stopped
    by the balance that first one spent."""
    problems = FieldErrors()
    wallet = chosen_wallet(form, mine)
    if wallet is None:
        problems.add("wallet", "Choose the wallet to pay from.")
    amount, message = check_amount(form.amount, wallet, courtesy=courtesy)
    if message:
        problems.add("amount", message)
    target = None
    if wallet is not None:
        target = problems.check("mobile_number", topups.preview, new_uow(), user_id=current_user.id,
                                wallet_id=wallet.id, mobile_number=form.mobile_number,
                                operator=form.operator or None,
                                amount=amount.amount if amount else 1)  # a bad amount's problem is already kept
    problems.fields = {ALIASES.get(name, name): message for name, message in problems.fields.items()}
    problems.raise_any()
    return wallet, target


def operator_groups() -> list[tuple[str, list[airtime.Operator]]]:
    """The operators on sale by country, for the form's list: (country name, operators)."""
    return [(COUNTRY_NAMES.get(country, country), airtime.operators_in(country)) for country in airtime.COUNTRIES]
