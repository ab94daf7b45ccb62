"""What the institution payment form carries and how it is read. Its reference fields are drawn from the
institution's schema; each is named `ref_<name>` on the form (field names are [a-z0-9_], so the prefix is
unambiguous and the name is safe in an HTML id and a CSS selector). Every problem is reported at once."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.errors import FieldErrors
from webapp.models import Institution, Wallet
from webapp.money import Money
from webapp.services.institutions import MAX_VALUE, ReferenceField, check_reference, fields_of
from webapp.web.forms import FORM, text
from webapp.web.send_form import check_amount

PREFIX = "ref_"
# Error codes → the form field whose message they are; field errors keep their own (see `place`).
CODE_FIELDS = {"INSUFFICIENT_FUNDS": "amount", "LIMIT_EXCEEDED": "amount", "CURRENCY_MISMATCH": "wallet",
               "NOT_FOUND": FORM, "KYC_REQUIRED": FORM, "ACCOUNT_FROZEN": FORM, "IDEMPOTENCY_CONFLICT": FORM}


def form_name(service_name: str) -> str:
    """reference.student_id → ref_student_id; currency → wallet; the rest as they are."""
    if service_name.startswith("reference."):
        return PREFIX + service_name.removeprefix("reference.")
    return {"currency": "wallet", "reference": FORM, "idempotency_key": FORM}.get(service_name, service_name)


@dataclass(frozen=True)
class PayForm:
    wallet: str = ""  # the id of one of the payer's wallets
    amount: str = ""
    reference: tuple[tuple[str, str], ...] = ()  # (field name, value as typed), in the schema's order

    @classmethod
    def from_request(cls, fields: list[ReferenceField]) -> PayForm:
        typed = tuple((field.name, text(PREFIX + field.name, MAX_VALUE + 1)) for field in fields)
        return cls(wallet=text("wallet", 36), amount=text("amount", 40), reference=typed)

    @classmethod
    def of(cls, values: dict[str, str], fields: list[ReferenceField]) -> PayForm:
        typed = tuple((field.name, str(values.get(PREFIX + field.name, ""))) for field in fields)
        return cls(wallet=str(values.get("wallet", "")), amount=str(values.get("amount", "")), reference=typed)

    def values(self) -> dict[str, str]:
        return {"wallet": self.wallet, "amount": self.amount, **{PREFIX + k: v for k, v in self.reference}}

    def typed(self, name: str) -> str:
        return dict(self.reference).get(name, "")


@dataclass(frozen=True)
class Draft:
    """A form that parsed: how much, from which wallet, with which reference."""

    wallet: Wallet
    amount: Money
    reference: dict[str, str]


def payable_wallets(mine: list[Wallet], institution: Institution) -> list[Wallet]:
    """Only a wallet in the institution's currency can pay it."""
    return [wallet for wallet in mine if wallet.currency == institution.currency]


def chosen_wallet(form: PayForm, usable: list[Wallet]) -> Wallet | None:
    if len(usable) == 1 and not form.wallet:
        return usable[0]
    return next((wallet for wallet in usable if wallet.id == form.wallet), None)


def parse(form: PayForm, institution: Institution, mine: list[Wallet], *, courtesy: bool = True) -> Draft:
    """The draft, or one ValidationError with every problem under the form's own field names.
    `courtesy=False` on confirm, as for sending: a second tap must reach the service, which replays."""
    problems = FieldErrors()
    wallet = chosen_wallet(form, payable_wallets(mine, institution))
    if wallet is None:
        problems.add("wallet", f"Choose a {institution.currency} wallet to pay from.")
    amount, message = check_amount(form.amount, wallet, courtesy=courtesy)
    if message:
        problems.add("amount", message)
    reference = problems.check("reference", check_reference, fields_of(institution), dict(form.reference))
    renamed = FieldErrors()
    for name, message in problems.fields.items():
        renamed.add(form_name(name), message)
    renamed.raise_any()
    return Draft(wallet, amount, reference)
