"""`ewallet institution …`: the directory of institutions people pay (DESIGN §4)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from webapp.errors import DomainError
from webapp.extensions import new_uow
from webapp.services.institutions import KINDS


@click.group("institution")
def institution_group():
    """Colleges, schools, utilities and shops people pay with a structured reference."""


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """NAME=VALUE options, split at the first "=" (a pattern may contain more)."""
    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: write NAME=VALUE", param_hint=option)
        if name in pairs:
            raise click.BadParameter(f"{name} is given twice", param_hint=option)
        pairs[name] = rest
    return pairs


@institution_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--country", required=True, help="ISO 3166-1 alpha-2, e.g. US.")
@click.option("--currency", required=True, help="ISO 4217, e.g. USD: what the institution is paid in.")
@click.option("--field", "fields", multiple=True, required=True, metavar="NAME=REGEX",
              help="A reference field and the pattern its value must match in full; repeat, in form order.")
@click.option("--label", "labels", multiple=True, metavar="NAME=TEXT", help="What the form calls a field.")
@click.option("--example", "examples", multiple=True, metavar="NAME=TEXT", help="A valid value, shown as a hint.")
@with_appcontext
def add(name: str, kind: str, country: str, currency: str, fields, labels, examples):
    """Add an institution; prints its id."""
    from webapp.services import institutions

    patterns = _pairs(fields, "--field")
    labels, examples = _pairs(labels, "--label"), _pairs(examples, "--example")
    for option, names in (("--label", labels), ("--example", examples)):
        if unknown := set(names) - set(patterns):
            raise click.BadParameter(f"no --field named {', '.join(sorted(unknown))}", param_hint=option)
    try:
        schema = [institutions.define_field(field, pattern, label=labels.get(field), example=examples.get(field))
                  for field, pattern in patterns.items()]
        added = institutions.add(new_uow(), name=name, kind=kind, country=country, currency=currency,
                                 fields=schema)
    except DomainError as error:
        raise click.ClickException(_message(error)) from None
    click.echo(added.id)


@institution_group.command("list")
@with_appcontext
def list_institutions():
    """Active institutions: id, kind, currency, name."""
    from webapp.services import institutions

    for found in institutions.directory(new_uow()):
        click.echo(f"{found.id}  {found.kind:<8}  {found.currency}  {found.name}")


@institution_group.command("bank-account")
@click.argument("institution_id")
@click.option("--holder", required=True, help="The name on the account.")
@click.option("--iban", default=None, help="An IBAN (spaces allowed).")
@click.option("--account-number", default=None, help="A US account number, with --routing-number.")
@click.option("--routing-number", default=None, help="The account's 9-digit ABA routing number.")
@with_appcontext
def bank_account(institution_id: str, holder: str, iban, account_number, routing_number):
    """Set the bank account the institution's balance is settled to (only a provider token is kept)."""
    from webapp.services import institutions

    try:
        found = institutions.set_bank_account(new_uow(), institution_id=institution_id, account_holder_name=holder,
                                              iban=iban, account_number=account_number,
                                              routing_number=routing_number)
    except DomainError as error:
        raise click.ClickException(_message(error)) from None
    click.echo(f"{found.name} is settled to {found.payout_bank_name or 'the account'} ending {found.payout_last4}")


@institution_group.command("settle")
@click.argument("institution_id", required=False)
@with_appcontext
def settle(institution_id: str | None):
    """Settle now: one institution's balance to its bank, or every institution that is due."""
    from webapp.services import settlements

    if institution_id:
        opened = settlements.open_settlement(new_uow(), institution_id=institution_id)
        click.echo(f"settlement {opened}" if opened else "nothing to settle (no bank account, no balance, or "
                   "settled within SETTLEMENT_INTERVAL)")
        return
    click.echo(f"{settlements.settle_due(new_uow())} settlements opened")


def _message(error: DomainError) -> str:
    fields = getattr(error, "fields", None) or {}
    return "; ".join(fields.values()) if fields else error.message
