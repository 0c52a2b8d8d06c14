"""The department tree and memberships, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.org.model import Membership
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import UserDepartment
from tests.org.conftest import audit_rows


def test_a_tree_with_heads_codes_and_order(org: OrgService) -> None:
    boss = org.create_user("boss", "老板")
    hq = org.create_department("总部", head_id=boss.id, code="HQ")
    sales = org.create_department("销售部", hq.id, code="SALES", sort=2)
    rd = org.create_department("研发部", hq.id, sort=1)
    east = org.create_department("华东", sales.id)
    assert (hq.head_id, hq.code, sales.parent_id) == (boss.id, "HQ", hq.id)
    assert [d.name for d in org.children(None)] == ["总部"]
    assert [d.name for d in org.children(hq.id)] == ["研发部", "销售部"]
    assert [d.name for d in org.descendants(hq.id)] == ["研发部", "销售部", "华东"]
    assert [d.name for d in org.list_departments()] == ["总部", "研发部", "销售部", "华东"]
    assert org.department_path(east.id) == "总部/销售部/华东"
    assert org.find_department_by_path(" 总部 / 销售部/华东") == east
    assert org.find_department_by_path("总部/市场部") is None
    assert org.department_index().ancestors(east.id) == [sales, hq]
    assert org.get_department(rd.id) == rd


def test_names_are_unique_among_siblings_and_codes_everywhere(org: OrgService) -> None:
    hq = org.create_department("总部", code="HQ")
    org.create_department("销售部", hq.id)
    org.create_department("销售部")  # another parent (the top): fine
    with pytest.raises(ValidationError) as raised:
        org.create_department("销售部", hq.id, code="HQ")
    assert set(raised.value.field_errors) == {"name", "code"}
    with pytest.raises(ValidationError) as raised:
        org.create_department("华东/华南", hq.id)
    assert raised.value.field_errors["name"][0].en.endswith("no /")
    with pytest.raises(NotFoundError):
        org.create_department("x", parent_id=999)


def test_update_and_move_without_cycles(org: OrgService, database: Database) -> None:
    hq = org.create_department("总部")
    sales = org.create_department("销售部", hq.id)
    east = org.create_department("华东", sales.id)
    market = org.create_department("市场部", hq.id)
    assert org.update_department(sales.id, name="销售中心", code="S").name == "销售中心"
    assert org.update_department(sales.id, code=None).code is None
    for bad_parent in (sales.id, east.id):
        with pytest.raises(ValidationError) as raised:
            org.move_department(sales.id, bad_parent)
        assert "parent_id" in raised.value.field_errors
    assert org.move_department(east.id, market.id).parent_id == market.id
    assert org.move_department(market.id, None).parent_id is None
    assert org.department_path(east.id) == "市场部/华东"
    moves = audit_rows(database, form="_departments", action="move")
    assert [m["changes"] for m in moves] == [{"parent_id": [sales.id, market.id]},
                                            {"parent_id": [hq.id, None]}]


def test_set_head(org: OrgService) -> None:
    dept = org.create_department("销售部")
    head = org.create_user("head", "Head")
    assert org.set_head(dept.id, head.id).head_id == head.id
    assert org.set_head(dept.id, None).head_id is None
    with pytest.raises(NotFoundError):
        org.set_head(dept.id, 999)


def test_ensure_path_creates_what_is_missing(org: OrgService) -> None:
    hq = org.create_department("总部")
    east = org.ensure_department_path("总部/销售部/华东")
    assert org.department_path(east.id) == "总部/销售部/华东"
    assert org.ensure_department_path("总部／销售部／华东") == east
    assert len(org.descendants(hq.id)) == 2


def test_one_main_department_per_user(org: OrgService) -> None:
    user = org.create_user("zhang", "张三")
    a, b, c = (org.create_department(n) for n in ("A", "B", "C"))
    assert org.add_member(user.id, a.id).is_main  # the first department is the main one
    assert not org.add_member(user.id, b.id, position="经理").is_main
    org.add_member(user.id, c.id, main=True)
    assert org.memberships(user.id) == [
        Membership(user.id, c.id, True, None), Membership(user.id, a.id, False, None),
        Membership(user.id, b.id, False, "经理")]
    assert org.main_departments() == {user.id: c.id}
    # Joining again updates the membership, and keeps it main.
    assert org.add_member(user.id, c.id, position="总监") == Membership(user.id, c.id, True, "总监")
    org.remove_member(user.id, c.id)
    assert [(m.department_id, m.is_main) for m in org.memberships(user.id)] == [
        (a.id, True), (b.id, False)]
    org.remove_member(user.id, c.id)  # not a member: nothing happens
    assert [m.user_id for m in org.members(b.id)] == [user.id]


def test_the_database_refuses_two_main_departments(org: OrgService, database: Database) -> None:
    user = org.create_user("zhang", "张三")
    a, b = org.create_department("A"), org.create_department("B")
    org.add_member(user.id, a.id)
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as conn:
        conn.execute(sa.insert(UserDepartment), [
            {"user_id": user.id, "department_id": b.id, "is_main": True}])


def test_members_of_a_subtree(org: OrgService) -> None:
    hq = org.create_department("总部")
    sales = org.create_department("销售部", hq.id)
    u1, u2 = org.create_user("u1", "U1"), org.create_user("u2", "U2")
    org.add_member(u1.id, hq.id)
    org.add_member(u2.id, sales.id)
    assert [m.user_id for m in org.members(hq.id)] == [u1.id]
    assert {m.user_id for m in org.members(hq.id, recursive=True)} == {u1.id, u2.id}


def test_delete_only_an_empty_department(org: OrgService) -> None:
    hq = org.create_department("总部")
    sales = org.create_department("销售部", hq.id)
    user = org.create_user("u1", "U")
    org.add_member(user.id, sales.id)
    for busy in (hq.id, sales.id):
        with pytest.raises(ConflictError):
            org.delete_department(busy)
    org.remove_member(user.id, sales.id)
    org.delete_department(sales.id)
    assert org.children(hq.id) == []


def test_only_admins_change_the_tree(org: OrgService) -> None:
    plain = org.create_user("plain", "Plain")
    dept = org.create_department("销售部")
    with pytest.raises(PermissionDenied):
        org.create_department("x", actor_id=plain.id)
    with pytest.raises(PermissionDenied):
        org.add_member(plain.id, dept.id, actor_id=plain.id)
    with pytest.raises(PermissionDenied):
        org.set_head(dept.id, plain.id, actor_id=plain.id)
