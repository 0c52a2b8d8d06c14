"""The error hierarchy every layer raises, mapped to HTTP in one place (runtime).

Each error carries a machine ``code``, a bilingual message and optional
``details``. ``str(error)`` is the English text; ``error.text("zh")`` the
Chinese one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.i18n import Label, label


class QiqiaoError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"

    def __init__(
        self, message: str | Label | Mapping[str, str], *, details: Any = None
    ) -> None:
        self.message = label(message)
        self.details = details
        super().__init__(self.message.en)

    def text(self, locale: str = "en") -> str:
        return self.message.text(locale)

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        """The JSON error body: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.text(locale), "details": self.details}


class DefinitionError(QiqiaoError):
    """A definition (form, flow, formula ...) is malformed; raised at load or publish."""

    code = "definition_error"


class RegistryError(QiqiaoError):
    """An unknown or duplicate key in a registry."""

    code = "registry_error"


class ValidationError(QiqiaoError):
    """Input data is invalid; ``field_errors`` maps a field key to its messages."""

    code = "validation_error"

    def __init__(
        self,
        message: str | Label | Mapping[str, str],
        *,
        field_errors: Mapping[str, list[Label]] | None = None,
    ) -> None:
        self.field_errors = dict(field_errors or {})
        super().__init__(message, details=None)

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        body = super().as_dict(locale)
        body["details"] = {
            key: [m.text(locale) for m in messages] for key, messages in self.field_errors.items()
        }
        return body


class QueryError(ValidationError):
    """A filter, sort, search, cursor or report query that cannot be used.
    ``path`` says where in the input (``and[1].op``, ``sort[0]``,
    ``query.dimensions[1].field``); the message says what is wrong and, for
    an unknown name, what was probably meant."""

    code = "invalid_query"

    def __init__(self, message: Label, path: str = "") -> None:
        self.path = path
        super().__init__(message, field_errors={path or "filter": [message]})


def query_error(area: Label, path: str, reason: Label) -> QueryError:
    """``reason`` about ``area`` (a filter, a report query) at ``path``."""
    where = f" {path}" if path else ""
    return QueryError(Label(f"{area.zh}{where}：{reason.zh}", f"{area.en}{where}: {reason.en}"), path)


def at(path: str, key: str) -> str:
    """``path`` extended by ``key`` (``and[1]`` + ``op`` -> ``and[1].op``)."""
    return f"{path}.{key}" if path else key


class PermissionDenied(QiqiaoError):
    """The acting user may not do this."""

    code = "permission_denied"


class NotFoundError(QiqiaoError):
    """The thing does not exist, or lies outside the user's data scope."""

    code = "not_found"


class ConflictError(QiqiaoError):
    """A concurrent change won (stale ``version``) or a unique key is taken."""

    code = "conflict"


class DuplicateValueError(ConflictError, ValidationError):
    """The input's only problem: values other records hold in unique fields.
    A conflict with what is stored (409, as when two writers race for one
    value), with a message per field as a ValidationError has."""

    code = "conflict"


class BusyError(QiqiaoError):
    """The database is too busy to take this write now (a writer that waited
    its turn in vain, a deadlock that kept recurring): nothing was written,
    and the same request may be sent again after ``retry_after`` seconds."""

    code = "busy"

    def __init__(self, message: str | Label | Mapping[str, str] | None = None, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message or Label("数据库繁忙，未做任何修改，请稍后重试",
                                          "The database is busy; nothing was changed. Try again shortly"),
                         details={"retry_after": retry_after})
