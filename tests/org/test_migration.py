"""Migration 0002 on a database that already has people, departments and app
tables pointing at them: nothing is lost — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.migrate import current_revision, head_revision, upgrade_system_tables

NOW = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)


def test_upgrading_from_0001_keeps_people_departments_and_references(
    bare_database: Database,
) -> None:
    upgrade_system_tables(bare_database, "0001")
    with bare_database.transaction() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, login, name, created_at) VALUES (1, 'li', '李雷', "
            f"'{NOW.isoformat(sep=' ')}')")
        conn.exec_driver_sql(
            "INSERT INTO departments (id, name, parent_id, head_id) VALUES (1, '总部', NULL, 1)")
        # An app table with member and department columns, as the store builds them.
        conn.exec_driver_sql(
            "CREATE TABLE crm_deal (id INTEGER PRIMARY KEY, "
            "owner INTEGER REFERENCES users (id) ON DELETE SET NULL, "
            "dept INTEGER REFERENCES departments (id) ON DELETE SET NULL)")
        conn.exec_driver_sql("INSERT INTO crm_deal (id, owner, dept) VALUES (1, 1, 1)")
    upgrade_system_tables(bare_database)
    assert current_revision(bare_database) == head_revision() == "0013"
    with bare_database.reading() as conn:
        assert conn.exec_driver_sql("SELECT owner, dept FROM crm_deal").one() == (1, 1)
    org = OrgService(bare_database)
    user = org.get_user(1)
    assert (user.login, user.is_admin, user.has_password, user.last_login_at) == (
        "li", False, False, None)
    department = org.get_department(1)
    assert (department.name, department.head_id, department.code, department.sort) == (
        "总部", 1, None, 0)
    assert org.principal(1).subordinate_ids == frozenset()
    org.add_member(1, 1)
    assert org.principal(1).main_department_id == 1


def test_the_new_tables_exist(database: Database) -> None:
    names = database.table_names()
    assert {"user_departments", "roles", "role_members", "role_departments", "delegations",
            "api_tokens", "app_owners", "sessions"} <= names
    with database.reading() as conn:
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("roles")}
    assert "uq_roles_key_all_apps" in indexes
