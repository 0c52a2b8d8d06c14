"""Users: creation with per-field validation, updates, deactivation, admins,
passwords — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.org.service import OrgService
from engine.store.database import Database
from tests.org.conftest import START, audit_rows


def test_create_and_read_a_user(org: OrgService) -> None:
    user = org.create_user("Zhang.San", "张三", email="zhang@Example.COM",
                           mobile="+86 138-1234-5678", password="s3cret-pass")
    assert (user.login, user.name, user.email, user.mobile) == (
        "zhang.san", "张三", "zhang@example.com", "13812345678")
    assert user.active and not user.is_admin and user.has_password and user.locale == "zh"
    assert user.created_at == START
    assert org.get_user(user.id) == user
    assert org.find_user_by_login("ZHANG.SAN") == user
    assert org.find_user_by_login("nobody") is None
    assert [u.login for u in org.list_users()] == ["zhang.san"]


def test_every_invalid_field_is_reported_at_once_in_both_languages(org: OrgService) -> None:
    with pytest.raises(ValidationError) as raised:
        org.create_user("a b", " ", email="not-an-email", mobile="12345", password="short",
                        locale="fr")
    errors = raised.value.field_errors
    assert set(errors) == {"login", "name", "email", "mobile", "password", "locale"}
    assert errors["email"][0].zh == "“not-an-email”不是有效的邮箱地址"
    assert errors["email"][0].en == '"not-an-email" is not a valid email address'
    assert org.list_users() == []


def test_logins_are_unique_whatever_their_case(org: OrgService) -> None:
    org.create_user("lisi", "李四")
    with pytest.raises(ValidationError) as raised:
        org.create_user("LiSi", "另一个李四")
    assert raised.value.field_errors["login"][0].en == 'The login "lisi" is taken'


def test_international_mobile_numbers_are_accepted(org: OrgService) -> None:
    assert org.create_user("jo", "Jo", mobile="+44 20 7946 0958").mobile == "+442079460958"


def test_update_changes_only_what_is_given(org: OrgService, database: Database) -> None:
    user = org.create_user("wang", "王五", email="wang@example.com", mobile="13900000000")
    updated = org.update_user(user.id, name="王五（销售）", email=None)
    assert (updated.name, updated.email, updated.mobile) == ("王五（销售）", None, "13900000000")
    entry = audit_rows(database, form="_users", action="update")[-1]
    assert entry["changes"] == {"name": ["王五", "王五（销售）"], "email": ["wang@example.com", None]}
    with pytest.raises(ValidationError):
        org.update_user(user.id, email="nope")
    with pytest.raises(NotFoundError):
        org.update_user(999, name="x")


def test_people_change_their_own_details_but_not_others(org: OrgService) -> None:
    me = org.create_user("me", "Me")
    other = org.create_user("other", "Other")
    assert org.update_user(me.id, locale="en", actor_id=me.id).locale == "en"
    with pytest.raises(PermissionDenied):
        org.update_user(other.id, name="Mine now", actor_id=me.id)


def test_only_admins_manage_users(org: OrgService) -> None:
    admin = org.create_user("root", "Root", is_admin=True)
    plain = org.create_user("plain", "Plain")
    assert org.create_user("new", "New", actor_id=admin.id).login == "new"
    with pytest.raises(PermissionDenied):
        org.create_user("sneaky", "Sneaky", actor_id=plain.id)
    with pytest.raises(PermissionDenied):
        org.set_admin(plain.id, True, actor_id=plain.id)
    assert not org.get_user(plain.id).is_admin


def test_admin_flag_changes_are_audited_permission_changes(
    org: OrgService, database: Database,
) -> None:
    admin = org.create_user("root", "Root", is_admin=True)
    plain = org.create_user("plain", "Plain")
    assert org.set_admin(plain.id, True, actor_id=admin.id).is_admin
    entry = audit_rows(database, action="permission_change")[-1]
    assert (entry["user_id"], entry["record_id"], entry["changes"]) == (
        admin.id, plain.id, {"is_admin": [False, True]})


def test_the_last_admin_stays(org: OrgService) -> None:
    admin = org.create_user("root", "Root", is_admin=True)
    with pytest.raises(ConflictError):
        org.set_admin(admin.id, False)
    with pytest.raises(ConflictError):
        org.deactivate_user(admin.id)
    second = org.create_user("root2", "Root 2", is_admin=True)
    assert not org.set_admin(admin.id, False, actor_id=second.id).is_admin


def test_deactivate_and_activate(org: OrgService) -> None:
    user = org.create_user("temp", "Temp")
    assert not org.deactivate_user(user.id).active
    assert [u.login for u in org.list_users(active=True)] == []
    assert [u.login for u in org.list_users(active=False)] == ["temp"]
    assert org.activate_user(user.id).active


def test_passwords_are_set_checked_and_never_audited(org: OrgService, database: Database) -> None:
    user = org.create_user("pw", "Pw")
    assert not user.has_password
    org.set_password(user.id, "first-password", actor_id=user.id)
    assert org.authenticate("pw", "first-password").id == user.id
    with pytest.raises(ValidationError):
        org.set_password(user.id, "short")
    with pytest.raises(ValidationError) as raised:
        org.change_password(user.id, "wrong-current", "second-password")
    assert "current_password" in raised.value.field_errors
    org.change_password(user.id, "first-password", "second-password")
    assert org.authenticate("pw", "second-password").id == user.id
    entries = audit_rows(database, action="set_password")
    assert len(entries) == 2 and all(e["changes"] is None for e in entries)


def test_a_user_cannot_set_another_users_password(org: OrgService) -> None:
    me = org.create_user("me", "Me")
    other = org.create_user("other", "Other")
    with pytest.raises(PermissionDenied):
        org.set_password(other.id, "taken-over!", actor_id=me.id)
