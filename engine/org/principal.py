"""Who is acting: the identity the permission checks and context functions read.

A ``Principal`` is built once per request (or per CLI command) by
``OrgService.principal(user_id)`` from the organization tables, and handed to
the record service inside an ``Actor``. It holds everything the data scopes
need, so no permission check queries the organization again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the permission layer sees them.

    - ``roles``: the keys of the roles they hold (directly or through a department);
    - ``department_ids``: the departments they are a member of (``main_department_id`` among them);
    - ``department_tree_ids``: those departments and every department below them;
    - ``subordinate_ids``: the users in the departments they head, and below
      those, recursively (themselves excluded);
    - ``owned_apps``: the apps they own, in which they may do what an admin may.
    """

    user_id: int
    login: str
    name: str = ""
    is_admin: bool = False
    locale: str = "zh"
    time_zone: str | None = None
    roles: frozenset[str] = frozenset()
    department_ids: frozenset[int] = frozenset()
    main_department_id: int | None = None
    department_tree_ids: frozenset[int] = frozenset()
    subordinate_ids: frozenset[int] = field(default_factory=frozenset)
    owned_apps: frozenset[str] = frozenset()

    def manages(self, app: str | None) -> bool:
        """Whether they may do anything in ``app``: an admin, or one of its owners."""
        return self.is_admin or (app is not None and app in self.owned_apps)
