"""Departments: a tree, each with a head, and memberships of users in it.

A user may belong to several departments; exactly one of them is their main
department (the first one they join, until another is made main). Names are
unique among siblings and contain no ``/``, so a path like ``总部/销售部/华东``
names one department.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError, NotFoundError, ValidationError
from engine.core.i18n import Label, Message
from engine.org.base import DEPARTMENTS, MEMBERSHIPS, NO_DEPARTMENT, OrgServiceBase
from engine.org.model import DepartmentInfo, Membership
from engine.org.users import KEEP, Keep

DEPARTMENTS_FORM = "_departments"
SEPARATOR = "/"

INVALID = Label("部门信息有误", "The department's details are invalid")
NAME_REQUIRED = Label("部门名称不能为空", "The department name is required")
BAD_NAME = Label("部门名称不能超过 100 个字符，也不能含有 /",
                 "A department name has at most 100 characters and no /")
NAME_TAKEN = Message("同级已有名为“{name}”的部门", "A sibling department is already called \"{name}\"")
CODE_TAKEN = Message("部门编码“{code}”已被使用", "The department code \"{code}\" is taken")
CODE_TOO_LONG = Label("部门编码不能超过 50 个字符", "A department code has at most 50 characters")
CYCLE = Label("不能把部门移到它自己或它的下级部门之下",
              "A department cannot move under itself or one of its sub-departments")
NOT_EMPTY = Label("部门还有下级部门或成员，不能删除",
                  "The department still has sub-departments or members")
POSITION_TOO_LONG = Label("职位不能超过 100 个字符", "A position has at most 100 characters")


class DepartmentIndex:
    """The whole tree in memory, for walking it: loaded in one query (an
    organization has thousands of departments at most)."""

    def __init__(self, departments: Iterable[DepartmentInfo]) -> None:
        self.by_id = {d.id: d for d in departments}
        self._children: dict[int | None, list[DepartmentInfo]] = {}
        for department in sorted(self.by_id.values(), key=lambda d: (d.sort, d.name, d.id)):
            self._children.setdefault(department.parent_id, []).append(department)

    def children(self, department_id: int | None) -> list[DepartmentInfo]:
        """The departments right below ``department_id`` (None: the roots), in order."""
        return list(self._children.get(department_id, []))

    def subtree_ids(self, department_ids: Iterable[int]) -> set[int]:
        """``department_ids`` and every department below them."""
        found: set[int] = set()
        pending = [i for i in department_ids if i in self.by_id]
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(child.id for child in self._children.get(current, []))
        return found

    def descendants(self, department_id: int) -> list[DepartmentInfo]:
        """Every department below ``department_id``, depth first, in order."""
        result: list[DepartmentInfo] = []
        pending = list(reversed(self._children.get(department_id, [])))
        while pending:
            current = pending.pop()
            result.append(current)
            pending.extend(reversed(self._children.get(current.id, [])))
        return result

    def ancestors(self, department_id: int) -> list[DepartmentInfo]:
        """The departments above ``department_id``, nearest first."""
        result: list[DepartmentInfo] = []
        current = self.by_id.get(department_id)
        while current is not None and current.parent_id is not None:
            current = self.by_id.get(current.parent_id)
            if current is None or current in result:
                break
            result.append(current)
        return result

    def path(self, department_id: int) -> str:
        """``总部/销售部/华东``: the names from the root down to ``department_id``."""
        chain = [*reversed(self.ancestors(department_id)), self.by_id[department_id]]
        return SEPARATOR.join(d.name for d in chain)

    def find(self, path: str) -> DepartmentInfo | None:
        """The department a path names, or None."""
        parent: int | None = None
        found: DepartmentInfo | None = None
        for name in split_path(path):
            found = next((d for d in self._children.get(parent, []) if d.name == name), None)
            if found is None:
                return None
            parent = found.id
        return found


def split_path(path: str) -> list[str]:
    """The names in a department path (``/`` or ``／`` between them, blanks ignored)."""
    return [part.strip() for part in path.replace("／", SEPARATOR).split(SEPARATOR) if part.strip()]


def _clean_name(name: str, problems: dict[str, list[Label]]) -> str:
    name = name.strip()
    if not name:
        problems["name"] = [NAME_REQUIRED]
    elif len(name) > 100 or SEPARATOR in name or "／" in name:
        problems["name"] = [BAD_NAME]
    return name


class DepartmentTree(OrgServiceBase):
    """The department part of ``OrgService``."""

    # --- reading ---------------------------------------------------------------
    def get_department(self, department_id: int) -> DepartmentInfo:
        with self._reading() as conn:
            return DepartmentInfo.from_row(self._department_row(conn, department_id))

    def department_index(self) -> DepartmentIndex:
        """The whole tree, to walk it in memory."""
        with self._reading() as conn:
            return self._index(conn)

    def list_departments(self) -> list[DepartmentInfo]:
        """Every department, the tree depth first, siblings in order."""
        index = self.department_index()
        return [d for root in index.children(None) for d in [root, *index.descendants(root.id)]]

    def children(self, department_id: int | None) -> list[DepartmentInfo]:
        """The departments right below one (None: the top-level ones)."""
        return self.department_index().children(department_id)

    def descendants(self, department_id: int) -> list[DepartmentInfo]:
        """Every department below one, depth first."""
        return self.department_index().descendants(department_id)

    def department_path(self, department_id: int) -> str:
        index = self.department_index()
        if department_id not in index.by_id:
            raise NotFoundError(NO_DEPARTMENT.format(id=department_id))
        return index.path(department_id)

    def find_department_by_path(self, path: str) -> DepartmentInfo | None:
        return self.department_index().find(path)

    def members(self, department_id: int, *, recursive: bool = False) -> list[Membership]:
        """The memberships of a department (and its sub-departments when ``recursive``)."""
        with self._reading() as conn:
            ids = self._index(conn).subtree_ids([department_id]) if recursive else {department_id}
            query = (sa.select(MEMBERSHIPS).where(MEMBERSHIPS.c.department_id.in_(ids))
                     .order_by(MEMBERSHIPS.c.department_id, MEMBERSHIPS.c.user_id))
            return [Membership.from_row(r) for r in conn.execute(query).mappings()]

    def memberships(self, user_id: int) -> list[Membership]:
        """The departments a user belongs to, the main one first."""
        query = (sa.select(MEMBERSHIPS).where(MEMBERSHIPS.c.user_id == user_id)
                 .order_by(MEMBERSHIPS.c.is_main.desc(), MEMBERSHIPS.c.department_id))
        with self._reading() as conn:
            return [Membership.from_row(r) for r in conn.execute(query).mappings()]

    def departments_by_user(self) -> dict[int, list[int]]:
        """Every user's departments (user id -> department ids, the main one first)."""
        query = (sa.select(MEMBERSHIPS.c.user_id, MEMBERSHIPS.c.department_id)
                 .order_by(MEMBERSHIPS.c.user_id, MEMBERSHIPS.c.is_main.desc(), MEMBERSHIPS.c.department_id))
        found: dict[int, list[int]] = {}
        with self._reading() as conn:
            for user_id, department_id in conn.execute(query):
                found.setdefault(int(user_id), []).append(int(department_id))
        return found

    def main_departments(self) -> dict[int, int]:
        """Every user's main department: user id -> department id."""
        query = sa.select(MEMBERSHIPS.c.user_id, MEMBERSHIPS.c.department_id).where(
            MEMBERSHIPS.c.is_main.is_(True))
        with self._reading() as conn:
            return {int(u): int(d) for u, d in conn.execute(query)}

    def _index(self, conn: Connection) -> DepartmentIndex:
        rows = conn.execute(sa.select(DEPARTMENTS)).mappings()
        return DepartmentIndex(DepartmentInfo.from_row(r) for r in rows)

    # --- the tree ----------------------------------------------------------------
    def create_department(
        self, name: str, parent_id: int | None = None, head_id: int | None = None,
        code: str | None = None, *, sort: int = 0, actor_id: int | None = None,
    ) -> DepartmentInfo:
        """Add a department under ``parent_id`` (None: at the top)."""
        problems: dict[str, list[Label]] = {}
        values = {"name": _clean_name(name, problems), "parent_id": parent_id,
                  "head_id": head_id, "code": (code or "").strip() or None, "sort": sort}
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            if parent_id is not None:
                self._department_row(conn, parent_id)
            if head_id is not None:
                self._user_row(conn, head_id)
            self._check_unique(conn, values, problems, None)
            new_id = int(conn.execute(
                DEPARTMENTS.insert().returning(DEPARTMENTS.c.id), values).scalar_one())
            self._audit(conn, "create", form=DEPARTMENTS_FORM, user_id=actor_id,
                        record_id=new_id, changes=values)
            return DepartmentInfo.from_row(self._department_row(conn, new_id))

    def ensure_department_path(self, path: str, *, actor_id: int | None = None) -> DepartmentInfo:
        """The department ``总部/销售部/华东`` names, creating what is missing."""
        names = split_path(path)
        if not names:
            raise ValidationError(NAME_REQUIRED, field_errors={"name": [NAME_REQUIRED]})
        with self._writing() as conn:
            index = self._index(conn)
            parent: DepartmentInfo | None = None
            for name in names:
                siblings = index.children(parent.id if parent else None)
                found = next((d for d in siblings if d.name == name), None)
                if found is None:
                    found = self.within(conn).create_department(
                        name, parent.id if parent else None, actor_id=actor_id)
                    index = self._index(conn)
                parent = found
            assert parent is not None
            return parent

    def update_department(
        self, department_id: int, *, name: str | Keep = KEEP, code: str | Keep | None = KEEP,
        sort: int | Keep = KEEP, actor_id: int | None = None,
    ) -> DepartmentInfo:
        """Rename a department, change its code (None clears it) or its order."""
        problems: dict[str, list[Label]] = {}
        values: dict[str, Any] = {}
        if not isinstance(name, Keep):
            values["name"] = _clean_name(name, problems)
        if not isinstance(code, Keep):
            values["code"] = (code or "").strip() or None
        if not isinstance(sort, Keep):
            values["sort"] = sort
        return self._change(department_id, values, problems, "update", actor_id)

    def move_department(
        self, department_id: int, parent_id: int | None, *, actor_id: int | None = None,
    ) -> DepartmentInfo:
        """Put a department (with everything below it) under another; never
        under itself or one of its own sub-departments."""
        with self._reading() as conn:
            if parent_id is not None:
                self._department_row(conn, parent_id)
                if parent_id in self._index(conn).subtree_ids([department_id]):
                    raise ValidationError(CYCLE, field_errors={"parent_id": [CYCLE]})
        return self._change(department_id, {"parent_id": parent_id}, {}, "move", actor_id)

    def set_head(
        self, department_id: int, user_id: int | None, *, actor_id: int | None = None,
    ) -> DepartmentInfo:
        """Make a user the head of a department (None: no head). The head need
        not be a member; they see their department's people as subordinates."""
        with self._reading() as conn:
            if user_id is not None:
                self._user_row(conn, user_id)
        return self._change(department_id, {"head_id": user_id}, {}, "set_head", actor_id)

    def delete_department(self, department_id: int, *, actor_id: int | None = None) -> None:
        """Remove an empty department (no sub-departments, no members)."""
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            before = self._department_row(conn, department_id)
            busy = conn.execute(sa.select(
                sa.exists().where(DEPARTMENTS.c.parent_id == department_id)
                | sa.exists().where(MEMBERSHIPS.c.department_id == department_id))).scalar()
            if busy:
                raise ConflictError(NOT_EMPTY, details={"department_id": department_id})
            conn.execute(DEPARTMENTS.delete().where(DEPARTMENTS.c.id == department_id))
            self._audit(conn, "delete", form=DEPARTMENTS_FORM, user_id=actor_id,
                        record_id=department_id, changes={"name": before["name"]})

    def _change(
        self, department_id: int, values: dict[str, Any], problems: dict[str, list[Label]],
        action: str, actor_id: int | None,
    ) -> DepartmentInfo:
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            before = self._department_row(conn, department_id)
            merged = {**dict(before), **values}
            self._check_unique(conn, merged, problems, department_id)
            changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
            if changes:
                conn.execute(DEPARTMENTS.update().where(DEPARTMENTS.c.id == department_id)
                             .values(values))
                self._audit(conn, action, form=DEPARTMENTS_FORM, user_id=actor_id,
                            record_id=department_id, changes=changes)
            return DepartmentInfo.from_row(self._department_row(conn, department_id))

    def _check_unique(
        self, conn: Connection, values: dict[str, Any], problems: dict[str, list[Label]],
        department_id: int | None,
    ) -> None:
        others = DEPARTMENTS.c.id != department_id if department_id is not None else sa.true()
        if "name" not in problems:
            parent = DEPARTMENTS.c.parent_id
            same_parent = (parent.is_(None) if values["parent_id"] is None
                           else parent == values["parent_id"])
            taken = conn.execute(sa.select(DEPARTMENTS.c.id).where(
                DEPARTMENTS.c.name == values["name"], same_parent, others)).first()
            if taken:
                problems["name"] = [NAME_TAKEN.format(name=values["name"])]
        code = values.get("code")
        if code is not None and len(code) > 50:
            problems["code"] = [CODE_TOO_LONG]
        elif code is not None and conn.execute(sa.select(DEPARTMENTS.c.id).where(
                DEPARTMENTS.c.code == code, others)).first():
            problems["code"] = [CODE_TAKEN.format(code=code)]
        if problems:
            raise ValidationError(INVALID, field_errors=problems)

    # --- members -----------------------------------------------------------------
    def add_member(
        self, user_id: int, department_id: int, main: bool = False,
        position: str | None = None, *, actor_id: int | None = None,
    ) -> Membership:
        """Put a user in a department, or change their membership there. With
        ``main`` it becomes their only main department; a user's first
        department is their main one anyway."""
        position = (position or "").strip() or None
        if position is not None and len(position) > 100:
            raise ValidationError(POSITION_TOO_LONG, field_errors={"position": [POSITION_TOO_LONG]})
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            self._user_row(conn, user_id)
            self._department_row(conn, department_id)
            mine = {int(r.department_id): bool(r.is_main) for r in conn.execute(
                sa.select(MEMBERSHIPS.c.department_id, MEMBERSHIPS.c.is_main)
                .where(MEMBERSHIPS.c.user_id == user_id))}
            is_main = main or not any(mine.values()) or mine.get(department_id, False)
            if is_main:
                # Unset the old main first: the database allows one at a time.
                conn.execute(MEMBERSHIPS.update().where(
                    MEMBERSHIPS.c.user_id == user_id, MEMBERSHIPS.c.department_id != department_id,
                ).values(is_main=False))
            row = {"user_id": user_id, "department_id": department_id, "is_main": is_main,
                   "position": position}
            if department_id in mine:
                conn.execute(MEMBERSHIPS.update().where(
                    MEMBERSHIPS.c.user_id == user_id, MEMBERSHIPS.c.department_id == department_id,
                ).values(is_main=is_main, position=position))
            else:
                conn.execute(MEMBERSHIPS.insert(), row)
            self._audit(conn, "add_member", form=DEPARTMENTS_FORM, user_id=actor_id,
                        record_id=department_id, changes=row)
            return Membership(user_id, department_id, is_main, position)

    def remove_member(
        self, user_id: int, department_id: int, *, actor_id: int | None = None,
    ) -> None:
        """Take a user out of a department. When it was their main one, their
        first remaining department (lowest id) becomes main."""
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            mine = MEMBERSHIPS.c.user_id == user_id
            gone = conn.execute(MEMBERSHIPS.delete().where(
                mine, MEMBERSHIPS.c.department_id == department_id,
            ).returning(MEMBERSHIPS.c.is_main)).first()
            if gone is None:
                return
            if gone.is_main:
                next_main = conn.execute(sa.select(sa.func.min(MEMBERSHIPS.c.department_id))
                                         .where(mine)).scalar()
                if next_main is not None:
                    conn.execute(MEMBERSHIPS.update().where(
                        mine, MEMBERSHIPS.c.department_id == next_main).values(is_main=True))
            self._audit(conn, "remove_member", form=DEPARTMENTS_FORM, user_id=actor_id,
                        record_id=department_id, changes={"user_id": user_id})
