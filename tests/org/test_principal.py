"""The principal: roles (direct and through departments), departments, the
department tree and subordinates through heads — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.org.errors import AuthenticationError
from engine.org.principal import Principal
from engine.org.service import OrgService

PEOPLE = ("ceo", "vp", "lead", "rep", "rep2", "srep", "cto", "dev", "gone")


@pytest.fixture
def company(org: OrgService) -> dict[str, int]:
    """总部 (head: ceo) > 销售部 (head: vp) > 华东 (head: lead), 华南; 研发部 (head: cto)."""
    ids: dict[str, int] = {}
    for login in PEOPLE:
        ids[login] = org.create_user(login, login.upper()).id
    hq = org.create_department("总部", head_id=ids["ceo"]).id
    sales = org.create_department("销售部", hq, head_id=ids["vp"]).id
    east = org.create_department("华东", sales, head_id=ids["lead"]).id
    south = org.create_department("华南", sales).id
    rd = org.create_department("研发部", hq, head_id=ids["cto"]).id
    ids.update(hq=hq, sales=sales, east=east, south=south, rd=rd)
    org.add_member(ids["ceo"], hq)
    org.add_member(ids["vp"], sales)
    org.add_member(ids["lead"], east)
    org.add_member(ids["rep"], east)
    org.add_member(ids["rep2"], east)
    org.add_member(ids["gone"], east)
    org.add_member(ids["srep"], south)
    org.add_member(ids["cto"], rd)
    org.add_member(ids["dev"], rd)
    org.add_member(ids["dev"], south, main=False, position="支持")  # a second department
    org.deactivate_user(ids["gone"])
    return ids


def test_subordinates_through_heads_across_three_levels(
    org: OrgService, company: dict[str, int],
) -> None:
    def subordinates(login: str) -> set[str]:
        by_id = {company[name]: name for name in PEOPLE}
        return {by_id[u] for u in org.principal(company[login]).subordinate_ids}

    assert subordinates("ceo") == {"vp", "lead", "rep", "rep2", "srep", "cto", "dev", "gone"}
    assert subordinates("vp") == {"lead", "rep", "rep2", "srep", "dev", "gone"}
    assert subordinates("lead") == {"rep", "rep2", "gone"}
    assert subordinates("cto") == {"dev"}
    assert subordinates("rep") == set()


def test_departments_and_their_tree(org: OrgService, company: dict[str, int]) -> None:
    dev = org.principal(company["dev"])
    assert dev.department_ids == {company["rd"], company["south"]}
    assert dev.main_department_id == company["rd"]
    vp = org.principal(company["vp"])
    assert vp.department_ids == {company["sales"]}
    assert vp.department_tree_ids == {company["sales"], company["east"], company["south"]}
    ceo = org.principal(company["ceo"])
    assert ceo.department_tree_ids == {company[k] for k in ("hq", "sales", "east", "south", "rd")}
    assert org.principal(company["rep"]).department_tree_ids == {company["east"]}


def test_the_principal_carries_who_they_are(org: OrgService, company: dict[str, int]) -> None:
    admin = org.create_user("admin", "Admin", locale="en", is_admin=True)
    assert org.principal(admin.id) == Principal(
        user_id=admin.id, login="admin", name="Admin", is_admin=True, locale="en")


def test_roles_direct_and_through_departments(org: OrgService, company: dict[str, int]) -> None:
    org.create_role("staff", "员工")
    org.create_role("sales", "销售", {"customer": {"actions": ["read"]}}, app="crm")
    org.create_role("engineer", "工程师", app="crm")
    org.create_role("auditor", "审计", app="erp")
    org.assign_role_to_department("staff", company["hq"])      # everyone below 总部
    org.assign_role_to_department("crm:sales", company["sales"])  # 销售部 and below
    org.assign_role("crm:engineer", company["dev"])
    org.assign_role("erp:auditor", company["dev"])
    assert org.principal(company["rep"], app="crm").roles == {"staff", "sales"}
    assert org.principal(company["cto"], app="crm").roles == {"staff"}
    # dev is in 研发部 and (second department) 华南 under 销售部.
    assert org.principal(company["dev"], app="crm").roles == {"staff", "sales", "engineer"}
    assert org.principal(company["dev"], app="erp").roles == {"staff", "auditor"}
    # Without an app, only roles of every app: app roles never leak between apps.
    assert org.principal(company["dev"]).roles == {"staff"}
    held = org.roles_of(company["rep"], app="crm")
    assert [(r.key, r.grants) for r in held] == [
        ("sales", {"customer": {"actions": ["read"]}}), ("staff", {})]
    assert org.users_with_role("crm:sales") == {
        company[k] for k in ("vp", "lead", "rep", "rep2", "srep", "dev")}  # not "gone"


def test_a_deactivated_user_has_no_principal(org: OrgService, company: dict[str, int]) -> None:
    with pytest.raises(AuthenticationError) as raised:
        org.principal(company["gone"])
    assert raised.value.code == "unauthenticated"
