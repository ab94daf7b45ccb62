"""Pay an institution: choose it from a list → a form drawn from its reference schema → review → pay →
receipt with the reference.

The dashboard's tiles lead to the lists: College payment (colleges and schools), Pay bills (utilities),
Shopping (shops). The rest is the send flow's shape (web/send.py): every problem at once next to its field,
Post/Redirect/Get, and a review that is a GET of a draft carrying the idempotency key, so a double tap or
Back-then-pay moves the money once. Nothing here needs JavaScript."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.errors import DomainError, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models import Institution
from webapp.services import institution_payments, institutions, wallets
from webapp.services.institutions import GROUPS, MAX_VALUE, fields_of
from webapp.web import bp, drafts, pin_prompt
from webapp.web.forms import FORM, redirect_back
from webapp.web.pay_form import CODE_FIELDS, PayForm, chosen_wallet, form_name, parse, payable_wallets

KIND = "institution_payment"
MONEY_LIMIT = "30 per minute"
TITLES = {"college": "College payment", "bills": "Pay bills", "shopping": "Shopping"}
GROUP_OF = {kind: group for group, kinds in GROUPS.items() for kind in kinds}


def directory(group: str):
    """The institutions one tile lists, by name."""
    found = institutions.directory(new_uow(), kinds=GROUPS[group])
    return render_template("pay/directory.html", institutions=found, group=group, title=TITLES[group])


for _group in GROUPS:  # one endpoint per tile (web.pay_college, …), so the dashboard links them by name
    bp.add_url_rule(f"/pay/{_group}", endpoint=f"pay_{_group}", view_func=login_required(directory),
                    defaults={"group": _group})


def _institution(institution_id: str) -> Institution:
    return institutions.find(new_uow(), institution_id=institution_id)


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _back_to_form(institution: Institution, form: PayForm, error: DomainError, draft: drafts.Draft | None = None):
    fields = (error.details or {}).get("fields") or {}
    placed = {form_name(name): message for name, message in fields.items()} if fields else {
        CODE_FIELDS.get(error.code, FORM): error.message}
    url = url_for("web.pay_form", institution_id=institution.id, draft=draft.id if draft else None)
    return redirect_back(KIND, url, form.values(), placed)


@bp.get("/pay/to/<institution_id>")
@login_required
def pay_form(institution_id: str):
    """The form: empty, prefilled from a draft (Edit on the review page), or back with its problems."""
    institution, mine = _institution(institution_id), _mine()
    usable = payable_wallets(mine, institution)
    blank = PayForm(wallet=usable[0].id if usable else "").values()
    values, errors = drafts.opening(KIND, blank)
    form = PayForm.of(values, fields_of(institution))
    wallet = chosen_wallet(form, usable) or (usable[0] if usable else None)
    return render_template("pay/page.html", institution=institution, fields=fields_of(institution), form=form,
                           wallets=usable, wallet=wallet, errors=errors, group=GROUP_OF[institution.kind],
                           max_value=MAX_VALUE)


@bp.post("/pay/to/<institution_id>")
@login_required
@limiter.limit(MONEY_LIMIT)
def pay_review(institution_id: str):
    """Check the form and every problem in it; nothing moves yet."""
    institution = _institution(institution_id)
    form = PayForm.from_request(fields_of(institution))
    try:
        parse(form, institution, _mine())
    except ValidationError as error:
        return _back_to_form(institution, form, error)
    draft = drafts.save(KIND, {"institution": institution.id, **form.values()})
    return redirect(url_for("web.pay_confirm", draft_id=draft.id), 303)


@bp.route("/pay/review/<draft_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(MONEY_LIMIT, methods=["POST"])
def pay_confirm(draft_id: str):
    """GET shows the review (or the receipt, if this draft was already paid); POST pays it."""
    draft = drafts.load(KIND, draft_id)
    if draft is None:
        flash("That review has expired. Choose where to pay and review again.", "info")
        return redirect(url_for("web.pay_college"), 303)
    paid = institution_payments.paid_with_key(new_uow(), payer_id=current_user.id, idempotency_key=draft.key)
    if paid is not None and request.method == "GET":
        flash("You already paid this. Here is the receipt.", "info")
        return redirect(url_for("web.transaction_detail", transaction_id=paid.id), 303)
    institution = _institution(draft.values.get("institution", ""))
    form = PayForm.of(draft.values, fields_of(institution))
    try:
        parsed = parse(form, institution, _mine(), courtesy=request.method == "GET")
        if request.method == "GET":
            return render_template("pay/confirm.html", institution=institution, draft=parsed, draft_id=draft.id,
                                   fields=fields_of(institution), pin=pin_prompt.prompt(KIND))
        tx = institution_payments.pay(new_uow(), payer_id=current_user.id, wallet_id=parsed.wallet.id,
                                      institution_id=institution.id, amount=parsed.amount,
                                      reference=parsed.reference, idempotency_key=draft.key,
                                      pin=pin_prompt.typed())
    except pin_prompt.REFUSALS as error:  # the same review again, the message under the PIN
        return pin_prompt.back_to_review(KIND, url_for("web.pay_confirm", draft_id=draft.id), error)
    except DomainError as error:
        return _back_to_form(institution, form, error, draft)
    flash(f"Paid {parsed.amount.format()} to {institution.name}.", "success")
    return redirect(url_for("web.transaction_detail", transaction_id=tx.id), 303)
