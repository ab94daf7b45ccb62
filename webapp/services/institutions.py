"""The directory of institutions people pay (colleges, schools, utilities, shops), and the reference each
one asks for: an ordered list of fields, each with a pattern its value must match in full.

Patterns are written by operators (`ewallet institution add --field NAME=REGEX`), not by payers, and a
value is at most MAX_VALUE characters, which bounds the work one match can take."""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import FieldErrors, NotFound, ProviderUnavailable, ValidationError
from webapp.models import Institution
from webapp.models.base import new_id
from webapp.money import check_currency
from webapp.providers import bank
from webapp.services import audit, bank_details, ledger
from webapp.services.bank_details import countries

KINDS = ("college", "school", "utility", "merchant")
# What the dashboard's tiles list: College payment, Pay bills, Shopping.
GROUPS = {"college": ("college", "school"), "bills": ("utility",), "shopping": ("merchant",)}
MAX_NAME = 140
MAX_FIELDS = 8
MAX_VALUE = 64  # characters of one reference value
MAX_PATTERN = 200
MAX_LABEL = 60
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # a JSON key and a form field name alike
ACRONYMS = {"id": "ID", "no": "No.", "iban": "IBAN"}


@dataclass(frozen=True)
class ReferenceField:
    """One part of the reference a payer gives, e.g. student_id with the pattern ^S\\d{6}$."""

    name: str
    label: str
    pattern: str
    example: str | None = None

    @property
    def regex(self) -> re.Pattern:
        return _compiled(self.pattern)

    @property
    def numeric(self) -> bool:
        """Digits only, as far as the example tells: phones then offer their number pad."""
        return bool(self.example) and self.example.isdigit()

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def label_for(name: str) -> str:
    """student_id → "Student ID": what a field is called when its operator gave no label."""
    text = " ".join(ACRONYMS.get(word, word) for word in name.split("_") if word)
    return text[:1].upper() + text[1:]


def define_field(name: str, pattern: str, *, label: str | None = None, example: str | None = None) -> ReferenceField:
    """A field of a reference schema, or ValidationError saying what is wrong with it."""
    if not FIELD_NAME.fullmatch(name or ""):
        raise ValidationError.field("field", f"Field name {name!r}: use a-z, 0-9 and _, starting with a letter "
                                    "(at most 32 characters).")
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValidationError.field("field", f"Field {name}: give a pattern of 1 to {MAX_PATTERN} characters.")
    try:
        regex = _compiled(pattern)
    except re.error as error:
        raise ValidationError.field("field", f"Field {name}: the pattern does not compile ({error}).") from None
    label = (label or label_for(name)).strip()
    if not label or len(label) > MAX_LABEL:
        raise ValidationError.field("field", f"Field {name}: give a label of 1 to {MAX_LABEL} characters.")
    if example is not None and not regex.fullmatch(example):
        raise ValidationError.field("field", f"Field {name}: the example {example!r} does not match the pattern.")
    return ReferenceField(name, label, pattern, example)


def fields_of(institution: Institution) -> list[ReferenceField]:
    return [ReferenceField(**field) for field in institution.reference_fields or []]


def check_reference(fields: list[ReferenceField], reference: object) -> dict[str, str]:
    """The reference as it will be kept (values trimmed, in the schema's order), or one ValidationError
    naming every bad part as `reference.<name>`: missing, not text, too long, not matching, not asked for."""
    if not isinstance(reference, dict):
        raise ValidationError.field("reference", "Send the reference as an object with one entry per field.")
    problems, kept = FieldErrors(), {}
    for field in fields:
        kept[field.name] = problems.check(f"reference.{field.name}", _check_value, field, reference.get(field.name))
    asked = {field.name for field in fields}
    for name in list(reference)[:MAX_FIELDS * 2]:
        if name not in asked:
            problems.add(f"reference.{str(name)[:40]}", "This institution does not ask for this field.")
    problems.raise_any("Check the payment reference.")
    return kept


def _check_value(field: ReferenceField, value: object) -> str:
    if value is None or value == "":
        raise ValidationError(f"{field.label} is required.")
    if not isinstance(value, str):
        raise ValidationError(f"Send the {field.label} as text.")
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise ValidationError(f"{field.label}: at most {MAX_VALUE} characters.")
    if not field.regex.fullmatch(value):
        like = f": it looks like {field.example}" if field.example else ""
        raise ValidationError(f"This is not a valid {field.label}{like}.")
    return value


@retry_on_conflict
def add(uow: UnitOfWork, *, name: str, kind: str, country: str, currency: str,
        fields: list[ReferenceField]) -> Institution:
    """Add an institution with its own ledger account; audited on the system stream."""
    problems = FieldErrors()
    name = problems.check("name", _check_name, name)
    if kind not in KINDS:
        problems.add("kind", f"Choose one of {', '.join(KINDS)}.")
    country = (country or "").strip().upper()
    if country not in countries():
        problems.add("country", "Give the two-letter ISO country code, like US or DE.")
    currency = problems.check("currency", check_currency, currency)
    if not fields or len(fields) > MAX_FIELDS or len({f.name for f in fields}) != len(fields):
        problems.add("field", f"Give 1 to {MAX_FIELDS} reference fields, each name once.")
    problems.raise_any()
    with uow:
        institution = Institution(id=new_id(), name=name, kind=kind, country=country, currency=currency,
                                  reference_fields=[field.as_dict() for field in fields], active=True)
        account = ledger.open_derived_account(uow, code=f"institution:{institution.id}", kind="institution",
                                              currency=currency)
        institution.account_id = account.id
        uow.session.add(institution)
        uow.session.flush()
        audit.append(uow, stream=audit.SYSTEM, event="institution_added", actor_id=None,
                     data={"institution_id": institution.id, "name": name, "kind": kind, "currency": currency})
        uow.commit()
    return institution


def _check_name(raw: object) -> str:
    name = " ".join(str(raw or "").split())
    if not name or len(name) > MAX_NAME:
        raise ValidationError(f"Give a name of 1 to {MAX_NAME} characters.")
    return name


def directory(uow: UnitOfWork, *, kinds: tuple[str, ...] | None = None) -> list[Institution]:
    """Active institutions by name, optionally of some kinds only."""
    query = select(Institution).where(Institution.active.is_(True))
    if kinds is not None:
        query = query.where(Institution.kind.in_(kinds))
    with uow:
        return list(uow.session.scalars(query.order_by(Institution.name, Institution.id)))


def get(uow: UnitOfWork, *, institution_id: object) -> Institution:
    """An active institution, or NotFound. For use inside an open unit of work."""
    found = uow.session.get(Institution, institution_id) if isinstance(institution_id, str) else None
    if found is None or not found.active:
        raise NotFound("Institution not found.")
    return found


def find(uow: UnitOfWork, *, institution_id: object) -> Institution:
    with uow:
        return get(uow, institution_id=institution_id)


def set_bank_account(uow: UnitOfWork, *, institution_id: str, account_holder_name: object, iban: object = None,
                     account_number: object = None, routing_number: object = None) -> Institution:
    """Where the institution's settlements go. Checked as a person's account is (services/bank_details.py)
    and tokenized by the payout provider outside any transaction; only the token, the last four digits
    and the bank's name are kept (DESIGN §12)."""
    currency = find(uow, institution_id=institution_id).currency
    country = "".join(str(iban).split())[:2].upper() if iban else "US"
    details = bank_details.check(account_holder_name=account_holder_name, iban=iban, account_number=account_number,
                                 routing_number=routing_number, currency=currency, country=country)
    try:
        token = bank.provider(uow.config).tokenize_account(details)
    except bank.AccountRejected as rejected:
        raise ValidationError.field("account", str(rejected)) from None
    except bank.ProviderDown:
        raise ProviderUnavailable("The bank could not register this account just now.") from None
    return _keep_bank_account(uow, institution_id, token, details)


@retry_on_conflict
def _keep_bank_account(uow: UnitOfWork, institution_id: str, token: str, details: bank.AccountDetails) -> Institution:
    with uow:
        institution = uow.session.get(Institution, institution_id, with_for_update=True)
        institution.payout_token, institution.payout_last4 = token, details.last4
        institution.payout_bank_name = (details.bank_name or "")[:140] or None
        audit.append(uow, stream=f"institution:{institution_id}", event="institution_bank_account", actor_id=None,
                     data={"last4": details.last4, "kind": details.kind})
        uow.commit()
    return institution
