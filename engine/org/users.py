"""Users: accounts, their details, passwords, the admin flag, and signing in.

Logins are case-insensitive: they are stored lower-cased, and looked up the
same way. An account is deactivated, never deleted, so records keep their
owner; a deactivated user cannot sign in or use their tokens.
"""

from __future__ import annotations

import enum
import re
import zoneinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError, ValidationError
from engine.core.i18n import LOCALES, Label, Message
from engine.fields.contact import CN_MOBILE, E164, EMAIL
from engine.org import passwords
from engine.org.base import AUTH_FORM, USERS, OrgServiceBase
from engine.org.errors import AuthenticationError
from engine.org.model import UserInfo

LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
USERS_FORM = "_users"

INVALID_USER = Label("用户信息有误", "The user's details are invalid")
BAD_LOGIN = Message(
    "登录名“{value}”无效：2–100 个字母、数字或 _ . @ -",
    "The login \"{value}\" is invalid: 2-100 letters, digits or _ . @ -",
)
LOGIN_TAKEN = Message("登录名“{value}”已被使用", "The login \"{value}\" is taken")
NAME_REQUIRED = Label("姓名不能为空", "The name is required")
NAME_TOO_LONG = Label("姓名不能超过 100 个字符", "The name can have at most 100 characters")
BAD_EMAIL = Message("“{value}”不是有效的邮箱地址", "\"{value}\" is not a valid email address")
BAD_MOBILE = Message(
    "“{value}”不是有效的手机号（11 位手机号，或国际格式如 +8613812345678）",
    "\"{value}\" is not a valid mobile number (11 digits, or international like +8613812345678)",
)
BAD_LOCALE = Message("不支持的语言“{value}”（zh 或 en）", "Unsupported locale \"{value}\" (zh or en)")
BAD_TIME_ZONE = Message("未知的时区“{value}”（如 Asia/Shanghai）", "Unknown time zone \"{value}\" (like Asia/Shanghai)")
WRONG_CREDENTIALS = Label("登录名或密码错误", "Wrong login or password")
DEACTIVATED = Label("此账号已停用", "This account is deactivated")
LAST_ADMIN = Label("不能停用或降级最后一位管理员", "The last admin cannot be deactivated or demoted")
WRONG_OLD_PASSWORD = Label("原密码不正确", "The current password is wrong")


class Keep(enum.Enum):
    """``update_user``'s "leave this as it is" (None clears an optional value)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def normalize_login(login: str) -> str:
    return login.strip().lower()


def normalize_mobile(text: str) -> str:
    compact = re.sub(r"[\s()（）.\-－]", "", text).replace("＋", "+")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+86") and CN_MOBILE.match(compact[3:]):
        return compact[3:]
    return compact


def normalize_email(text: str) -> str:
    local, at, domain = text.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if at else text.strip()


def user_problems(values: dict[str, Any]) -> dict[str, list[Label]]:
    """Per-field problems of the (already normalised) user ``values`` given."""
    problems: dict[str, list[Label]] = {}
    if "login" in values and not LOGIN.match(values["login"]):
        problems["login"] = [BAD_LOGIN.format(value=values["login"])]
    if "name" in values:
        if not values["name"]:
            problems["name"] = [NAME_REQUIRED]
        elif len(values["name"]) > 100:
            problems["name"] = [NAME_TOO_LONG]
    email = values.get("email")
    if email is not None and (not EMAIL.match(email) or len(email) > 200
                              or len(email.partition("@")[0]) > 64):
        problems["email"] = [BAD_EMAIL.format(value=email)]
    mobile = values.get("mobile")
    if mobile is not None and not (CN_MOBILE.match(mobile) or E164.match(mobile)):
        problems["mobile"] = [BAD_MOBILE.format(value=mobile)]
    if "locale" in values and values["locale"] not in LOCALES:
        problems["locale"] = [BAD_LOCALE.format(value=values["locale"])]
    zone = values.get("time_zone")
    if zone is not None and not _known_zone(zone):
        problems["time_zone"] = [BAD_TIME_ZONE.format(value=zone)]
    return problems


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return len(name) <= 64


def _optional(value: str | None, normalize: Any) -> str | None:
    if value is None or not value.strip():
        return None
    return str(normalize(value))


class UserAccounts(OrgServiceBase):
    """The user part of ``OrgService``."""

    # --- reading ---------------------------------------------------------------
    def get_user(self, user_id: int) -> UserInfo:
        """The user ``user_id``; ``NotFoundError`` when there is none."""
        with self._reading() as conn:
            return UserInfo.from_row(self._user_row(conn, user_id))

    def find_user_by_login(self, login: str) -> UserInfo | None:
        """The user signing in as ``login`` (any case), or None."""
        with self._reading() as conn:
            row = self._login_row(conn, login)
        return UserInfo.from_row(row) if row is not None else None

    def list_users(self, *, active: bool | None = None) -> list[UserInfo]:
        """Every user (or only the active or inactive ones), by login."""
        query = sa.select(USERS).order_by(USERS.c.login)
        if active is not None:
            query = query.where(USERS.c.active == active)
        with self._reading() as conn:
            return [UserInfo.from_row(row) for row in conn.execute(query).mappings()]

    def _login_row(self, conn: Connection, login: str) -> sa.RowMapping | None:
        wanted = {normalize_login(login), login}
        query = sa.select(USERS).where(USERS.c.login.in_(wanted)).order_by(USERS.c.id)
        rows = conn.execute(query).mappings().all()
        exact = [r for r in rows if r["login"] == normalize_login(login)]
        return (exact or rows)[0] if rows else None

    # --- writing -----------------------------------------------------------------
    def create_user(
        self, login: str, name: str, email: str | None = None, mobile: str | None = None,
        password: str | None = None, locale: str = "zh", is_admin: bool = False, *,
        actor_id: int | None = None,
    ) -> UserInfo:
        """Create an account. Every invalid detail is reported at once, per
        field (``login``, ``name``, ``email``, ``mobile``, ``locale``, ``password``)."""
        values: dict[str, Any] = {
            "login": normalize_login(login), "name": name.strip(),
            "email": _optional(email, normalize_email),
            "mobile": _optional(mobile, normalize_mobile), "locale": locale,
        }
        problems = user_problems(values)
        if password is not None and (weak := passwords.password_problems(password)):
            problems["password"] = weak
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            if "login" not in problems and self._login_row(conn, values["login"]) is not None:
                problems["login"] = [LOGIN_TAKEN.format(value=values["login"])]
            if problems:
                raise ValidationError(INVALID_USER, field_errors=problems)
            row = {
                **values, "active": True, "is_admin": is_admin, "created_at": self._now(),
                "password_hash": passwords.hash_password(password) if password else None,
            }
            user_id = int(conn.execute(USERS.insert().returning(USERS.c.id), row).scalar_one())
            self._audit(conn, "create", form=USERS_FORM, user_id=actor_id, record_id=user_id,
                        changes={k: values[k] for k in ("login", "name", "email", "mobile")})
            if is_admin:
                self._audit(conn, "permission_change", form=USERS_FORM, user_id=actor_id,
                            record_id=user_id, changes={"is_admin": [False, True]})
            return UserInfo.from_row(self._user_row(conn, user_id))

    def update_user(
        self, user_id: int, *, name: str | Keep = KEEP, email: str | Keep | None = KEEP,
        mobile: str | Keep | None = KEEP, locale: str | Keep = KEEP,
        time_zone: str | Keep | None = KEEP, actor_id: int | None = None,
    ) -> UserInfo:
        """Change a user's details; what is not passed stays, None clears an
        email, a mobile or a time zone (back to the deployment's). A user may
        change their own details."""
        values: dict[str, Any] = {}
        if not isinstance(name, Keep):
            values["name"] = name.strip()
        if not isinstance(email, Keep):
            values["email"] = _optional(email, normalize_email)
        if not isinstance(mobile, Keep):
            values["mobile"] = _optional(mobile, normalize_mobile)
        if not isinstance(locale, Keep):
            values["locale"] = locale
        if not isinstance(time_zone, Keep):
            values["time_zone"] = time_zone or None
        problems = user_problems(values)
        if problems:
            raise ValidationError(INVALID_USER, field_errors=problems)
        with self._writing() as conn:
            self._require_self_or_admin(conn, actor_id, user_id)
            before = self._user_row(conn, user_id)
            changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
            if changes:
                conn.execute(USERS.update().where(USERS.c.id == user_id).values(values))
                self._audit(conn, "update", form=USERS_FORM, user_id=actor_id,
                            record_id=user_id, changes=changes)
            return UserInfo.from_row(self._user_row(conn, user_id))

    def deactivate_user(self, user_id: int, *, actor_id: int | None = None) -> UserInfo:
        """Stop a user signing in (their password, tokens and sessions stop working);
        their records and memberships stay. The last admin cannot be deactivated."""
        return self._set_flag(user_id, "active", False, actor_id)

    def activate_user(self, user_id: int, *, actor_id: int | None = None) -> UserInfo:
        """Let a deactivated user sign in again."""
        return self._set_flag(user_id, "active", True, actor_id)

    def set_admin(self, user_id: int, is_admin: bool, *, actor_id: int | None = None) -> UserInfo:
        """Make a user an admin or not (a permission change, audited). The last
        active admin cannot be demoted."""
        return self._set_flag(user_id, "is_admin", is_admin, actor_id)

    def _set_flag(self, user_id: int, flag: str, value: bool, actor_id: int | None) -> UserInfo:
        with self._writing() as conn:
            self._require_admin(conn, actor_id)
            before = self._user_row(conn, user_id)
            if bool(before[flag]) == value:
                return UserInfo.from_row(before)
            if not value and before["is_admin"] and before["active"]:
                others = conn.execute(sa.select(sa.func.count()).select_from(USERS).where(
                    USERS.c.is_admin.is_(True), USERS.c.active.is_(True), USERS.c.id != user_id,
                )).scalar_one()
                if not others:
                    raise ConflictError(LAST_ADMIN, details={"user_id": user_id})
            conn.execute(USERS.update().where(USERS.c.id == user_id).values({flag: value}))
            if flag == "active" and not value:
                self._end_sessions(conn, user_id)
            action = "permission_change" if flag == "is_admin" else (
                "activate" if value else "deactivate")
            self._audit(conn, action, form=USERS_FORM, user_id=actor_id, record_id=user_id,
                        changes={flag: [not value, value]})
            return UserInfo.from_row(self._user_row(conn, user_id))

    # --- passwords -------------------------------------------------------------
    def set_password(self, user_id: int, password: str, *, actor_id: int | None = None) -> None:
        """Set a user's password (checked first). Users may set their own; an
        admin anyone's. Every sign-in session of the user ends. The audit entry
        says it changed, never what to."""
        encoded = passwords.hash_password(password)
        with self._writing() as conn:
            self._require_self_or_admin(conn, actor_id, user_id)
            self._user_row(conn, user_id)
            conn.execute(USERS.update().where(USERS.c.id == user_id)
                         .values(password_hash=encoded))
            # Whoever signed in with the old password is signed out everywhere.
            self._end_sessions(conn, user_id)
            self._audit(conn, "set_password", form=USERS_FORM, user_id=actor_id,
                        record_id=user_id)

    def change_password(self, user_id: int, current: str, new: str) -> None:
        """A user changing their own password, proving they know the current one."""
        with self._reading() as conn:
            stored = self._user_row(conn, user_id)["password_hash"]
        if not passwords.verify_password(current, stored):
            raise ValidationError(WRONG_OLD_PASSWORD,
                                  field_errors={"current_password": [WRONG_OLD_PASSWORD]})
        self.set_password(user_id, new, actor_id=user_id)

    def authenticate(
        self, login: str, password: str, ip: str | None = None, *, source: str | None = None,
    ) -> UserInfo:
        """The user with this login and password, or ``AuthenticationError``.

        An unknown login and a wrong password get the same message, and take
        as long (a hash is checked either way). A deactivated account is
        named as such only to someone who knows its password. Every attempt
        is audited (``login`` / ``login_failed``, form ``_auth``, with the IP);
        the password never is. A good login with an old-style hash rehashes it.
        """
        with self._reading() as conn:
            row = self._login_row(conn, login)
        stored = row["password_hash"] if row is not None else None
        matches = passwords.verify_password(password, stored or passwords.DUMMY_HASH)
        matches = matches and stored is not None
        user_id = int(row["id"]) if row is not None else None
        with self._writing() as conn:
            if row is None or not matches or not row["active"]:
                reason = ("unknown_login" if row is None else "no_password" if stored is None
                          else "wrong_password" if not matches else "deactivated")
                self._audit(conn, "login_failed", form=AUTH_FORM, user_id=user_id,
                            changes={"login": login[:100], "reason": reason}, ip=ip,
                            source=source)
            else:
                values: dict[str, Any] = {"last_login_at": self._now()}
                # A password below today's rules still signs in; it is rehashed
                # only when it could be set today.
                if passwords.needs_rehash(stored) and not passwords.password_problems(password):
                    values["password_hash"] = passwords.hash_password(password)
                conn.execute(USERS.update().where(USERS.c.id == user_id).values(values))
                self._audit(conn, "login", form=AUTH_FORM, user_id=user_id, ip=ip,
                            source=source)
                return UserInfo.from_row(self._user_row(conn, int(row["id"])))
        if matches and row is not None and not row["active"]:
            raise AuthenticationError(DEACTIVATED, details={"reason": "deactivated"})
        raise AuthenticationError(WRONG_CREDENTIALS)
