"""OpenAPI paths for the automatic risk flags (webapp/api/admin.py), kept apart from spec.py, whose
other_paths adds them."""

from __future__ import annotations

from webapp.api.spec import (
    TIMESTAMP,
    TOO_LARGE,
    UNAUTHORIZED,
    UUID,
    array,
    body,
    failure,
    invalid,
    not_found,
    obj,
    operation,
    path_id,
    success,
)
from webapp.services.freezes import MAX_REASON
from webapp.services.risk import RULES

FLAG = {"id": UUID, "user_id": UUID,
        "rule": {"enum": list(RULES), "description": "new_recipients: more than RISK_NEW_RECIPIENTS_COUNT "
                 "transfers to people never paid before within RISK_NEW_RECIPIENTS_MINUTES; lockouts: "
                 "RISK_LOCKOUTS_COUNT PIN lockouts within RISK_LOCKOUTS_HOURS; negative_balance: a "
                 "card refund or lost dispute left a wallet below zero."},
        "details": {"type": "object", "description": "What the rule saw: counts, the window, the wallet."},
        "created_at": TIMESTAMP,
        "resolved_at": {**TIMESTAMP, "type": ["string", "null"]},
        "resolved_by": {**UUID, "type": ["string", "null"], "description": "The admin who cleared it."},
        "resolution": {"type": ["string", "null"], "description": "The admin's reason for clearing it."}}
LISTED = obj({**FLAG, "email": {"type": "string"}, "is_frozen": {"type": "boolean"}}, closed=True)
NOT_ADMIN = {"403": failure("You are not an admin; or the flag is on your own account (another admin must "
                            "clear it).", "FORBIDDEN")}


def admin_risk_paths() -> dict:
    return {
        "/admin/risk-flags": {"get": operation(
            "listRiskFlags", "The flagged list (role admin): open automatic risk flags, oldest first.",
            {"200": success("Open flags, each with whose account it is.",
                            obj({"risk_flags": array(LISTED)}, closed=True)),
             **UNAUTHORIZED, "403": failure("You are not an admin.", "FORBIDDEN")},
            tag="admin")},
        "/admin/risk-flags/{flag_id}/clear": {"post": operation(
            "clearRiskFlag", "Clear a flag with a reason (role admin; audited on the person's stream). The "
            "account stays frozen until an admin unfreezes it.",
            {"200": success("Cleared.", obj({"risk_flag": obj(FLAG, closed=True)}, closed=True)),
             **UNAUTHORIZED, **NOT_ADMIN, **not_found("The flag"), **TOO_LARGE,
             **invalid(f"a missing reason, or one over {MAX_REASON} characters; or the flag was cleared "
                       "already (then `details.fields` is empty).")},
            tag="admin", request=body(obj({"reason": {"type": "string", "maxLength": MAX_REASON}})),
            parameters=[path_id("flag_id", "risk flag")])},
    }
