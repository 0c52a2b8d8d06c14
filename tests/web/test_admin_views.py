"""The administration pages without a browser: who may open them, the
engine's messages at their fields with what was typed kept, one transaction
per page action, the grant grid's round trip, tokens. What writes through
several service calls runs on both databases (``world``); the rest on a
copy of a ready SQLite file (``quick``), which is much faster to make."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from engine.org.base import AUDIT
from engine.org.service import OrgService
from engine.store.database import Database
from tests.api.conftest import People, World


@pytest.fixture
def quick(app: Flask, sqlite_copy: Database, people: People) -> World:
    return World(app, sqlite_copy, people)


def html(world: World, token: str | None = None) -> dict[str, str]:
    return world.auth(token, Accept="text/html", **{"Accept-Language": "en"})


def get(world: World, url: str, token: str | None = None) -> Any:
    return world.client.get(url, headers=html(world, token))


def post(world: World, url: str, data: dict[str, Any], token: str | None = None) -> Any:
    return world.client.post(url, headers=html(world, token), data=data)


ADMIN_ONLY = ["/admin", "/admin/users", "/admin/users/new", "/admin/departments",
              "/admin/roles/crm"]


def test_only_admins_and_app_owners_open_the_administration(quick: World) -> None:
    world = quick
    org = OrgService(world.database)
    user = world.people.user_token
    for url in ADMIN_ONLY:
        assert get(world, url).status_code == 200, url
        assert get(world, url, user).status_code == 403, url
    assert get(world, "/admin/roles").status_code == 302  # one app: straight to its roles
    assert get(world, "/admin/roles", user).status_code == 403
    # Their own tokens are everyone's; someone else's are not.
    assert get(world, "/admin/tokens", user).status_code == 200
    assert get(world, f"/admin/tokens?user={world.people.admin_id}", user).status_code == 403
    # An owner of the CRM manages its roles, not the people.
    org.add_app_owner("crm", world.people.user_id)
    world.app.extensions["qiqiao"].identities.forget_user()  # as an owner change made in this app would
    assert get(world, "/admin", user).status_code == 200
    assert get(world, "/admin/roles/crm", user).status_code == 200
    assert get(world, "/admin/users", user).status_code == 403
    assert get(world, "/admin/departments", user).status_code == 403


def test_a_bad_user_shows_the_engines_messages_at_their_fields_and_writes_nothing(quick: World) -> None:
    world = quick
    org = OrgService(world.database)
    before = len(org.list_users())
    response = post(world, "/admin/users/new", {
        "login": "x", "name": "Zoë <b>", "email": "not-an-email", "mobile": "", "locale": "en",
        "password_mode": "type", "password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for name in ("login", "email", "password"):
        assert re.search(rf'id="{name}"[^>]*aria-invalid="true" aria-describedby="{name}-problem"', page), name
        assert f'id="{name}-problem"' in page
    assert 'value="not-an-email"' in page and 'value="Zoë &lt;b&gt;"' in page
    assert "不是有效的邮箱地址" in page  # the admin reads Chinese
    assert len(org.list_users()) == before


def test_a_user_is_created_with_departments_and_roles_in_one_go_or_not_at_all(world: World) -> None:
    org = OrgService(world.database)
    team = org.create_department("Team A")
    role = org.create_role("viewer", "Viewer", {"customer": {"actions": ["read"]}}, app="crm")
    # A department that does not exist: nothing of the user stays.
    response = post(world, "/admin/users/new", {"login": "half", "name": "Half", "password_mode": "generate",
                                                "departments": [team.id, 999_999], "roles": [role.id]})
    assert response.status_code == 404
    assert org.find_user_by_login("half") is None
    response = post(world, "/admin/users/new", {"login": "whole", "name": "Whole", "password_mode": "type",
                                                "password": "a-good-password", "departments": [team.id],
                                                "roles": [role.id], "locale": "en"})
    assert response.status_code == 200
    assert 'id="secret"' not in response.get_data(as_text=True)  # typed: nothing to show
    user = org.find_user_by_login("whole")
    assert user is not None and user.locale == "en"
    assert [m.department_id for m in org.memberships(user.id)] == [team.id]
    assert org.role_holders(role.id)[0] == {user.id}
    assert org.authenticate("whole", "a-good-password").id == user.id
    with world.database.reading() as conn:
        actions = conn.execute(sa.select(AUDIT.c.action).where(
            AUDIT.c.user_id == world.people.admin_id, AUDIT.c.app == "_org")).scalars().all()
    assert {"create", "add_member", "permission_change"} <= set(actions)
    # Editing: another role instead, out of the department.
    response = post(world, f"/admin/users/{user.id}", {"name": "Whole Again", "locale": "zh", "roles": []})
    assert response.status_code == 303
    assert org.get_user(user.id).name == "Whole Again"
    assert org.memberships(user.id) == [] and org.role_holders(role.id)[0] == set()


def test_the_last_admin_cannot_be_deactivated_and_a_reset_password_is_shown_once(quick: World) -> None:
    world = quick
    org = OrgService(world.database)
    response = post(world, f"/admin/users/{world.people.admin_id}/active", {"active": "0"})
    assert response.status_code == 409
    assert "不能停用或降级最后一位管理员" in response.get_data(as_text=True)
    assert org.get_user(world.people.admin_id).active
    response = post(world, f"/admin/users/{world.people.user_id}/password", {})
    password = re.search(r'<code id="secret">([^<]+)</code>', response.get_data(as_text=True))
    assert password is not None
    assert org.authenticate("alice", password.group(1)).id == world.people.user_id
    assert 'id="secret"' not in get(world, f"/admin/users/{world.people.user_id}").get_data(as_text=True)
    response = post(world, f"/admin/users/{world.people.user_id}/active", {"active": "0"})
    assert response.status_code == 200 and not org.get_user(world.people.user_id).active
    signed_out = get(world, "/admin/tokens", world.people.user_token)  # their token stopped working
    assert signed_out.status_code == 302 and "/auth/login" in signed_out.headers["Location"]


def test_the_grant_grid_writes_the_models_grants_and_keeps_what_it_cannot_show(world: World) -> None:
    org = OrgService(world.database)
    custom = {"filter": {"field": "level", "op": "eq", "value": "A"}}
    role = org.create_role("grid", "Grid", {"customer": {"actions": ["read", "update"], "read": custom},
                                            "elsewhere_form": {"actions": ["read"]}}, app="crm")
    page = get(world, f"/admin/roles/crm/{role.id}").get_data(as_text=True)
    assert '<option value="custom" selected>' in page
    response = post(world, f"/admin/roles/crm/{role.id}", {
        "label_zh": "网格", "label_en": "Grid", "description": "",
        "a.customer": ["read", "update"], "r.customer": "custom", "w.customer": "own",
        "f.customer.level": "readonly", "f.customer.name": "editable",
        "a.contact": ["read", "export"], "r.contact": "department_tree", "f.contact.mobile": "hidden",
        "a.any": ["read"], "r.any": "own"})
    assert response.status_code == 303
    grants = org.get_role(role.id).grants
    assert grants == {
        "customer": {"actions": ["read", "update"], "read": custom, "write": "own", "fields": {"level": "readonly"}},
        "contact": {"actions": ["read", "export"], "read": "department_tree", "fields": {"mobile": "hidden"}},
        "*": {"actions": ["read"], "read": "own"},
        "elsewhere_form": {"actions": ["read"]},
    }
    assert org.get_role(role.id).label.zh == "网格"
    # An action the model does not know: the service's message, nothing changed.
    response = post(world, f"/admin/roles/crm/{role.id}", {"label_zh": "x", "a.customer": ["fly"]})
    assert response.status_code == 400
    assert "actions" in response.get_data(as_text=True)
    assert org.get_role(role.id).grants == grants and org.get_role(role.id).label.zh == "网格"


def test_role_holders_are_added_and_removed_and_a_bad_key_is_shown_at_its_field(quick: World) -> None:
    world = quick
    org = OrgService(world.database)
    response = post(world, "/admin/roles/crm", {"key": "Bad Key", "label_zh": "坏"})
    assert response.status_code == 400
    assert re.search(r'id="key"[^>]*aria-invalid="true"', response.get_data(as_text=True))
    response = post(world, "/admin/roles/crm", {"key": "helpers", "label_zh": "帮手", "label_en": "Helpers"})
    assert response.status_code == 303
    role = org.get_role("crm:helpers")
    team = org.create_department("Helpers team")
    url = f"/admin/roles/crm/{role.id}/holders"
    assert post(world, url, {"give": "1", "user_id": world.people.user_id}).status_code == 303
    assert post(world, url, {"give": "1", "department_id": team.id}).status_code == 303
    assert org.role_holders(role.id) == ({world.people.user_id}, {team.id})
    assert post(world, url, {"give": "0", "user_id": world.people.user_id}).status_code == 303
    assert org.role_holders(role.id) == (set(), {team.id})
    assert post(world, url, {"give": "1"}).status_code == 400
    assert post(world, f"/admin/roles/crm/{role.id}/delete", {}).status_code == 303
    assert [r for r in org.list_roles("crm") if r.key == "helpers"] == []


def test_a_department_is_deleted_only_when_empty(world: World) -> None:
    org = OrgService(world.database)
    top = org.create_department("Top")
    below = org.create_department("Below", top.id)
    org.add_member(world.people.user_id, below.id)
    response = post(world, f"/admin/departments/{below.id}/delete", {})
    assert response.status_code == 409
    assert "部门还有下级部门或成员，不能删除" in response.get_data(as_text=True)
    # Moving a department under its own child is refused at the field.
    response = post(world, f"/admin/departments/{top.id}", {"name": "Top", "parent_id": below.id})
    assert response.status_code == 400
    assert re.search(r'id="parent_id"[^>]*aria-invalid="true"', response.get_data(as_text=True))
    assert post(world, f"/admin/departments/{top.id}", {"name": "Top", "head_id": world.people.user_id}
                ).status_code == 303
    assert org.get_department(top.id).head_id == world.people.user_id
    assert post(world, f"/admin/departments/{below.id}/members/{world.people.user_id}/remove", {}).status_code == 303
    assert post(world, f"/admin/departments/{below.id}/delete", {}).status_code == 303
    assert [d.id for d in org.list_departments() if d.id == below.id] == []


def test_tokens_are_issued_once_and_revoked_by_their_owner_or_an_admin(quick: World) -> None:
    world = quick
    org = OrgService(world.database)
    alice = world.people.user_token
    for days in ("0", "abc", "99999"):
        response = post(world, "/admin/tokens", {"name": "x", "expires_in_days": days}, alice)
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert re.search(r'id="expires_in_days"[^>]*aria-invalid="true"', page) and f'value="{days}"' in page
    response = post(world, "/admin/tokens", {"name": "export", "expires_in_days": "7"}, alice)
    plaintext = re.search(r'<code id="secret">(qq_[^<]+)</code>', response.get_data(as_text=True))
    assert plaintext is not None
    assert plaintext.group(1) not in get(world, "/admin/tokens", alice).get_data(as_text=True)
    mine = next(t for t in org.list_tokens(world.people.user_id) if t.name == "export")
    admins = org.list_tokens(world.people.admin_id)[0]
    assert post(world, f"/admin/tokens/{admins.id}/revoke", {}, alice).status_code == 404
    assert org.get_token(admins.id).revoked_at is None
    # The admin sees alice's tokens and revokes one.
    assert "export" in get(world, f"/admin/tokens?user={world.people.user_id}").get_data(as_text=True)
    response = post(world, f"/admin/tokens/{mine.id}/revoke", {})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/admin/tokens?user={world.people.user_id}")
    assert org.get_token(mine.id).revoked_at is not None
