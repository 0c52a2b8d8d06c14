"""Administration pages (``/admin``): users, departments, roles and their
holders, API tokens, the outbox, the rules and their runs (DESIGN §13, docs/ui.md "Administration").

One blueprint, ``admin``, with a child blueprint per concept. Every change
goes through ``OrgService`` with the reader as ``actor_id``, exactly as the
REST API and the CLI do: the service checks who may and writes the audit
log, so a page can never allow what the service refuses. What the pages
show: the organization to admins, an app's roles also to its owners, and
to everyone their own API tokens; anyone else gets the 403 page.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort

from runtime.web import (
    admin_departments,
    admin_outbox,
    admin_roles,
    admin_rules,
    admin_tokens,
    admin_users,
)
from runtime.web.admin_common import may_administer
from runtime.web.context import identity, page, render, services

bp = Blueprint("admin", __name__, url_prefix="/admin")
for _part in (admin_users, admin_departments, admin_roles, admin_tokens, admin_outbox, admin_rules):
    bp.register_blueprint(_part.bp)


@bp.get("")
@bp.get("/")
@page
def index() -> Response:
    if not may_administer():
        abort(403)
    principal = identity().principal
    apps = [services().records.app(key) for key in services().records.app_keys()
            if principal.manages(key)]
    return render("admin/index.html", apps=apps, is_admin=principal.is_admin)
