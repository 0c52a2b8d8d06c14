"""The system tables, as typed ORM classes.

These tables are Qiqiao's own (apps, published definitions, users, audit,
counters, files, schema changes); they are created and upgraded by the
alembic migrations in ``engine/store/migrations``, whose result a test
compares with this metadata. App tables (one per form) are Core tables built
from definitions in ``engine.store.tables``, never ORM classes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.database import JSONDocument

# Constraint and index names are spelled out so that the migrations, both
# dialects and alembic's comparison agree on them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = sa.DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONDocument,
        dt.datetime: Timestamp,
    }


class App(Base):
    """An installed app and the package version it came from."""

    __tablename__ = "apps"

    key: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    label: Mapped[dict[str, Any]]
    version: Mapped[str] = mapped_column(sa.String(50))
    package: Mapped[str | None] = mapped_column(sa.String(100))
    package_version: Mapped[str | None] = mapped_column(sa.String(50))
    installed_at: Mapped[dt.datetime]


class AppOwner(Base):
    """A user who manages one app: its roles, and every record in it."""

    __tablename__ = "app_owners"

    app: Mapped[str] = mapped_column(sa.ForeignKey("apps.key", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Definition(Base):
    """One published version of a definition (form, flow, rule, report ...).

    The rows of one ``(app, kind, key)`` are its history: what was published,
    when and by whom, and so which fields a form had at each version.
    """

    __tablename__ = "definitions"
    __table_args__ = (sa.UniqueConstraint("app", "kind", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    kind: Mapped[str] = mapped_column(sa.String(30))
    key: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int]
    body: Mapped[dict[str, Any]]
    published_at: Mapped[dt.datetime]
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class User(Base):
    """A person who signs in (``engine.org`` manages them).

    ``password_hash`` is an encoded scrypt hash (``engine.org.passwords``),
    empty for people who cannot sign in with a password yet.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    mobile: Mapped[str | None] = mapped_column(sa.String(30))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh", server_default="zh")
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    last_login_at: Mapped[dt.datetime | None]


class Department(Base):
    """A department in the organisation tree, with its head; ``code`` is an
    optional unique handle for integrations, ``sort`` orders siblings."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    head_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    code: Mapped[str | None] = mapped_column(sa.String(50), index=True, unique=True)
    sort: Mapped[int] = mapped_column(default=0, server_default="0")


class UserDepartment(Base):
    """A user's membership of a department: at most one is their main
    department (the service keeps it so), with an optional position."""

    __tablename__ = "user_departments"
    __table_args__ = (
        # One main department per user, kept by the database too.
        sa.Index(
            "uq_user_departments_main", "user_id", unique=True,
            sqlite_where=sa.text("is_main = 1"), postgresql_where=sa.text("is_main"),
        ),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_main: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    position: Mapped[str | None] = mapped_column(sa.String(100))


class Role(Base):
    """A role: of one app, or of every app when ``app`` is null. ``grants``
    (per-form rights) is read by ``engine.org.permissions``; the org module
    stores it as given."""

    __tablename__ = "roles"
    __table_args__ = (
        sa.UniqueConstraint("app", "key"),
        # The unique constraint treats nulls as distinct: roles of every app
        # need their own guard.
        sa.Index(
            "uq_roles_key_all_apps", "key", unique=True,
            sqlite_where=sa.text("app IS NULL"), postgresql_where=sa.text("app IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str | None] = mapped_column(sa.String(50))
    key: Mapped[str] = mapped_column(sa.String(100))
    label: Mapped[dict[str, Any]]
    description: Mapped[str | None] = mapped_column(sa.Text)
    grants: Mapped[dict[str, Any]]


class RoleMember(Base):
    """A user holding a role directly."""

    __tablename__ = "role_members"

    role_id: Mapped[int] = mapped_column(
        sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RoleDepartment(Base):
    """A role held by everyone in a department (and its sub-departments)."""

    __tablename__ = "role_departments"

    role_id: Mapped[int] = mapped_column(
        sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Delegation(Base):
    """``to_user`` acts for ``from_user`` between two moments (approvals while away)."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    to_user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime]


class ApiToken(Base):
    """An API token: only its SHA-256 is kept; ``prefix`` (its first
    characters) lets people tell their tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(8))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(sa.String(45))


class SignInSession(Base):
    """A browser's signed-in session: the cookie carries a random key, this
    row its SHA-256, so a session can be ended on the server (logout, a new
    password, deactivation) before its cookie expires."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class AuditEntry(Base):
    """Who changed what record, when, from where, and the field diff."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index(None, "app", "form", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    app: Mapped[str] = mapped_column(sa.String(50))
    form: Mapped[str] = mapped_column(sa.String(50))
    record_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(30))
    changes: Mapped[dict[str, Any] | None]
    source: Mapped[str | None] = mapped_column(sa.String(30))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    # The rule whose action wrote (``<app>.<rule>``): "changed by rule X".
    rule: Mapped[str | None] = mapped_column(sa.String(150))


class SerialCounter(Base):
    """The last number handed out by a serial field in one reset period."""

    __tablename__ = "serial_counters"

    app: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class StoredFile(Base):
    """An uploaded file: its name and type as given, its content's hash and
    where the storage keeps it."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class SchemaChange(Base):
    """A schema change applied to an app table: the plan, what was nulled
    (with the original values in ``backup``), and a purge's backup file."""

    __tablename__ = "schema_changes"
    __table_args__ = (sa.Index(None, "app", "form"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    form: Mapped[str] = mapped_column(sa.String(50))
    from_version: Mapped[int | None]
    to_version: Mapped[int | None]
    plan: Mapped[dict[str, Any]]
    rows_nulled: Mapped[int] = mapped_column(default=0)
    backup: Mapped[dict[str, Any] | None]
    backup_path: Mapped[str | None] = mapped_column(sa.String(500))
    applied_at: Mapped[dt.datetime]
    applied_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))



class ImportJob(Base):
    """An import running in the background (``engine.records.import_jobs``):
    its file and options, where it is (``processed_rows`` of ``total_rows``),
    its counts, and at the end its report. ``heartbeat_at`` is when its
    runner last showed it was alive: a running job without a sign of life is
    one whose process died."""

    __tablename__ = "import_jobs"
    __table_args__ = (sa.Index(None, "user_id", "id"), sa.Index(None, "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    form: Mapped[str] = mapped_column(sa.String(50))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    file_id: Mapped[str] = mapped_column(sa.String(36))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    options: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(20))
    total_rows: Mapped[int | None]
    processed_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    report: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]


SYSTEM_TABLES = frozenset(Base.metadata.tables)


class PersonalView(Base):
    """A list view one user saved for themselves: the columns, filter and
    sort of a form's list as they left it (``spec``), under their own name."""

    __tablename__ = "personal_views"
    __table_args__ = (sa.UniqueConstraint("user_id", "app", "form", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    form: Mapped[str] = mapped_column(sa.String(50))
    name: Mapped[str] = mapped_column(sa.String(100))
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class RuleRun(Base):
    """One run of a rule (``engine.rules``): what fired it, on which record,
    how it ended (``done``, ``skipped`` by its condition, ``failed``, ``cut``
    by the loop guard) and each action's result (``actions``: a list of
    ``{"type", "outcome", "detail"}``). ``payload`` keeps what a retry needs
    (a webhook's body, a schedule's tick); ``retry_of`` links a retry to the
    run it repeats."""

    __tablename__ = "rule_runs"
    __table_args__ = (
        sa.Index("ix_rule_runs_app_rule_id", "app", "rule", "id"),
        sa.Index("ix_rule_runs_app_form_record_id", "app", "form", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    rule: Mapped[str] = mapped_column(sa.String(100))
    trigger: Mapped[str] = mapped_column(sa.String(30))
    form: Mapped[str | None] = mapped_column(sa.String(50))
    record_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    started_at: Mapped[dt.datetime]
    duration_ms: Mapped[float] = mapped_column(sa.Float)
    depth: Mapped[int] = mapped_column(default=0)
    source: Mapped[str | None] = mapped_column(sa.String(30))
    user_id: Mapped[int | None]
    actions: Mapped[list[Any]] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any] | None]
    retry_of: Mapped[int | None]


class RuleTick(Base):
    """A scheduled or date-relative rule's tick, claimed by the one worker
    that runs it: a second worker's insert of the same tick fails, so a
    tick fires once however many workers run."""

    __tablename__ = "rule_ticks"

    app: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    tick: Mapped[dt.datetime] = mapped_column(primary_key=True)
    claimed_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))


class RuleCursor(Base):
    """A rule's small piece of memory, by key: the last member a round-robin
    assignment chose, the last tick a schedule ran ..."""

    __tablename__ = "rule_cursors"

    app: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """A message that leaves the process (email, SMS, a robot, a webhook),
    written in the transaction of what caused it and sent after commit by the
    worker (``engine.notify``). ``status``: ``pending`` (due at
    ``next_attempt_at``), ``sending`` (claimed by ``claimed_by`` until
    ``lease_until``; claimed again when the lease runs out), ``sent`` or
    ``dead`` (out of attempts: an admin may retry it). ``idempotency_key`` is
    unique: enqueuing the same message twice keeps one, and the receiver gets
    the key to drop a repeat."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(30))
    recipient: Mapped[str] = mapped_column(sa.String(500))
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None]
    app: Mapped[str | None] = mapped_column(sa.String(50))
    rule_run_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class Notification(Base):
    """An in-app notification: the notification centre's entries of one user
    (unread while ``read_at`` is empty), linking to a record when it is about one."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_read_at_id", "user_id", "read_at", "id"),
                      sa.Index("ix_notifications_user_id_id", "user_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(sa.Text)
    app: Mapped[str | None] = mapped_column(sa.String(50))
    form: Mapped[str | None] = mapped_column(sa.String(50))
    record_id: Mapped[int | None]
    link: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str | None] = mapped_column(sa.String(150))
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]


class NotificationPreference(Base):
    """Whether a user receives a channel (a missing row: the channel's default)."""

    __tablename__ = "notification_prefs"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    enabled: Mapped[bool]


class Todo(Base):
    """A todo for one member: a title, an optional due time and the record it
    is about; done when ``done_at`` is set. ``source`` says what made it
    (``rule:<app>.<key>``, ``user``)."""

    __tablename__ = "todos"
    __table_args__ = (sa.Index("ix_todos_user_id_done_at_due_at", "user_id", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(300))
    note: Mapped[str | None] = mapped_column(sa.Text)
    due_at: Mapped[dt.datetime | None]
    app: Mapped[str | None] = mapped_column(sa.String(50))
    form: Mapped[str | None] = mapped_column(sa.String(50))
    record_id: Mapped[int | None]
    source: Mapped[str | None] = mapped_column(sa.String(150))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[int | None]
    done_at: Mapped[dt.datetime | None]
    done_by: Mapped[int | None]


class FlowInstance(Base):
    """One run of an approval flow (``engine.flows``) over one record.
    ``definition_id`` is the published version of the flow it started on (an
    instance never moves to a newer version); ``status`` is the record's
    ``flow_status`` while it runs and after: ``running``, ``approved``,
    ``rejected``, ``withdrawn`` (``draft`` is a record no instance ran on
    yet). ``state`` is what the engine keeps between steps: the approvers the
    submitter chose (``{"chosen": {"<node>": [user ids]}}``), the parallel
    joins still waiting, the visit count of each node. ``lock_version``
    grows with every transition: two approvers acting at once on one node
    race for it and one of them gets "already handled"."""

    __tablename__ = "flow_instances"
    __table_args__ = (
        sa.Index("ix_flow_instances_app_form_record_id", "app", "form", "record_id"),
        sa.Index("ix_flow_instances_submitter_id_id", "submitter_id", "id"),
        sa.Index("ix_flow_instances_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    flow: Mapped[str] = mapped_column(sa.String(100))
    definition_id: Mapped[int]
    form: Mapped[str] = mapped_column(sa.String(50))
    record_id: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(12))
    submitter_id: Mapped[int | None]
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    # The node keys where the instance stands (several inside parallel branches).
    current: Mapped[list[Any]] = mapped_column(JSONDocument)
    state: Mapped[dict[str, Any]]
    lock_version: Mapped[int] = mapped_column(default=1)


class FlowJob(Base):
    """A node's work in one visit (NocoBase's job): ``pending`` suspends the
    instance at the node until an action or the worker resolves it
    (``done``, ``rejected``, ``returned``, ``cancelled``: a withdrawn flow or
    a parallel branch given up). ``visit`` counts the node's visits (a
    returned flow visits a node again), ``branch`` is the path of the
    branches the node lies in. ``wake_at``: when the worker looks at it (a
    delay's end, a task's next reminder or time-out)."""

    __tablename__ = "flow_jobs"
    __table_args__ = (
        sa.Index("ix_flow_jobs_instance_id_node", "instance_id", "node"),
        sa.Index("ix_flow_jobs_status_wake_at", "status", "wake_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("flow_instances.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(sa.String(100))
    node_type: Mapped[str] = mapped_column(sa.String(30))
    visit: Mapped[int] = mapped_column(default=1)
    branch: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(12))
    result: Mapped[dict[str, Any] | None]
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    wake_at: Mapped[dt.datetime | None]


class FlowTask(Base):
    """One person's part in a job: an approval, a handling (办理) or a copy
    (抄送). ``box`` is how the inbox finds it: ``todo`` (waiting for them),
    ``queued`` (a sequential approver whose turn has not come), ``done``
    (acted: ``outcome`` says how), ``cc`` (a copy) — so one user's page of
    open tasks is one index range (``assignee_id``, ``box``, ``id``).
    ``outcome``: ``approved``, ``rejected``, ``returned``, ``transferred``,
    ``cancelled`` (someone else decided an or-sign node, the flow was
    withdrawn), ``read`` (a copy seen). ``delegated_from``: the person the
    task was meant for when a delegate received it; ``seq`` the order of
    sequential approvers; ``added_by`` marks an add-signed approver.
    ``due_at``: when an open task times out (its node's ``timeout.after``),
    ``remind_at``: its next reminder (``engine.flows.timeouts``)."""

    __tablename__ = "flow_tasks"
    __table_args__ = (
        sa.Index("ix_flow_tasks_assignee_id_box_id", "assignee_id", "box", "id"),
        sa.Index("ix_flow_tasks_instance_id_job_id", "instance_id", "job_id"),
        sa.Index("ix_flow_tasks_box_remind_at", "box", "remind_at"),
        sa.Index("ix_flow_tasks_box_due_at", "box", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("flow_instances.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("flow_jobs.id", ondelete="CASCADE"))
    app: Mapped[str] = mapped_column(sa.String(50))
    node: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(12))
    assignee_id: Mapped[int]
    box: Mapped[str] = mapped_column(sa.String(8))
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    seq: Mapped[int] = mapped_column(default=0)
    delegated_from: Mapped[int | None]
    added_by: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime]
    acted_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    urged_at: Mapped[dt.datetime | None]
    remind_at: Mapped[dt.datetime | None]


class FlowEvent(Base):
    """The instance's history, one row per thing that happened: ``action`` is
    ``submit``, ``approve``, ``reject``, ``return``, ``transfer``,
    ``add_sign``, ``withdraw``, ``urge``, ``comment``, ``node`` (reached),
    ``auto_pass``, ``remind``, ``timeout``, ``end`` ... ``user_id`` who did
    it (None for the engine), ``comment`` and ``files`` (stored file ids)
    what they wrote, ``diff`` the record's fields they changed
    (``{"<field>": [before, after]}``) and ``detail`` the rest (the node
    returned to, the person transferred to)."""

    __tablename__ = "flow_events"
    __table_args__ = (sa.Index("ix_flow_events_instance_id_id", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("flow_instances.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    action: Mapped[str] = mapped_column(sa.String(20))
    node: Mapped[str | None] = mapped_column(sa.String(100))
    task_id: Mapped[int | None]
    user_id: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    files: Mapped[list[Any] | None] = mapped_column(JSONDocument)
    diff: Mapped[dict[str, Any] | None]
    detail: Mapped[dict[str, Any] | None]


class DataVersion(Base):
    """How many times the records of one form changed, for the report cache
    (``engine.records.data_versions``): a form's version is this row's
    ``version`` plus its rows in ``data_changes``. A cached result is reused
    only while the versions of every form its query reads are unchanged."""

    __tablename__ = "data_versions"

    app: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class DataChange(Base):
    """One committed write of a form's records (a row per write, inserted in
    the write's own transaction: no row is updated, so writers never wait on
    each other, and a row counts only once its transaction commits, whatever
    the order of commits). Readers fold them into ``data_versions`` now and
    then (``engine.records.data_versions.compact``)."""

    __tablename__ = "data_changes"
    __table_args__ = (sa.Index("ix_data_changes_app_form_id", "app", "form", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app: Mapped[str] = mapped_column(sa.String(50))
    form: Mapped[str] = mapped_column(sa.String(50))


class ReportAlertState(Base):
    """An alert's (``reports/*.yaml`` ``alerts:``) last check by the worker:
    when it is next due, whether it held then (it notifies when it becomes
    true, not again while it stays true), and who claimed the check (several
    workers: each due check is done once)."""

    __tablename__ = "report_alert_states"
    __table_args__ = (sa.Index("ix_report_alert_states_next_at", "next_at"),)

    app: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    report: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    alert: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_at: Mapped[dt.datetime]
    checked_at: Mapped[dt.datetime | None]
    held: Mapped[bool] = mapped_column(default=False)
    # The rows (their dimension values, as JSON) that held at the last check, for each_row alerts.
    held_rows: Mapped[list[Any]] = mapped_column(JSONDocument, default=list)
    last_value: Mapped[dict[str, Any] | None]
    fired_at: Mapped[dt.datetime | None]
