"""API tokens (``/admin/tokens``): the reader's own tokens (name, created,
expires, last used), issuing one (its plaintext shown once, with a copy
button) and revoking; an admin also sees and revokes anyone's
(``?user=<id>``). Open to every signed-in reader for their own tokens, as
the REST API is (``/api/tokens``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from runtime.web.admin_common import actor, field_problems, message_of, org
from runtime.web.context import identity, page, render, services

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
MAX_DAYS = 36_500
_BAD_DAYS = Label("有效天数应为 1 到 36500 的整数", "Days valid must be a whole number from 1 to 36500")


def _owner() -> int:
    """Whose tokens the page shows: the reader's, or for an admin anyone's."""
    raw = request.values.get("user", "")
    if not raw:
        return actor()
    if not raw.isdigit() or len(raw) > 11:
        abort(404)
    if int(raw) != actor() and not identity().principal.is_admin:
        abort(403)
    return int(raw)


def _show(owner_id: int, *, status: int = 200, plaintext: str | None = None, values: dict[str, Any] | None = None,
          problems: dict[str, list[str]] | None = None, error: str | None = None,
          notice: str | None = None) -> Response:
    service = org()
    is_admin = identity().principal.is_admin
    return render("admin/tokens.html", status=status, owner=service.get_user(owner_id), mine=owner_id == actor(),
                  tokens=service.list_tokens(owner_id), now=services().clock.now(), plaintext=plaintext,
                  values=values or {}, problems=problems or {}, error=error, notice=notice,
                  people=service.list_users() if is_admin else [], is_admin=is_admin)


@bp.get("")
@page
def tokens() -> Response:
    return _show(_owner())


@bp.post("")
@page
def issue() -> Response:
    name = request.form.get("name", "")
    raw_days = request.form.get("expires_in_days", "").strip()
    values = {"name": name[:200], "expires_in_days": raw_days[:20]}
    days = int(raw_days) if raw_days.isdigit() and len(raw_days) < 7 else None
    try:
        if raw_days and (days is None or not 0 < days <= MAX_DAYS):
            raise ValidationError(_BAD_DAYS, field_errors={"expires_in_days": [_BAD_DAYS]})
        who = identity()
        plaintext, _token = org().issue_token(
            actor(), name, expires_in_days=days, actor_id=actor(),
            not_after=who.expires_at if who.via == "token" else None)
    except ValidationError as error:
        return _show(actor(), status=400, values=values, problems=field_problems(error), error=message_of(error))
    return _show(actor(), plaintext=plaintext)


@bp.post("/<int:token_id>/revoke")
@page
def revoke(token_id: int) -> Response:
    token = org().get_token(token_id) if token_id < 10**11 else None
    if token is None or (token.user_id != actor() and not identity().principal.is_admin):
        abort(404)  # someone else's token is none of their business, as in the API
    org().revoke_token(token_id, actor_id=actor())
    services().identities.forget_user(token.user_id)
    target = url_for("admin.tokens.tokens", user=None if token.user_id == actor() else str(token.user_id))
    return redirect(target, 303)  # type: ignore[return-value]
