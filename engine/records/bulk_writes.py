"""Many updates or deletes in one transaction, a savepoint per record: a
refused record (even one the database refuses) leaves the transaction
usable for the next, and each failure is kept with its record's place.

``all_or_nothing`` (the REST API's bulk PATCH) rolls everything back when
any record failed; otherwise (a list page's bulk edit and delete) the
records that passed are written and the failures reported beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from engine.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    QiqiaoError,
    ValidationError,
)
from engine.records.actor import Actor
from engine.records.service import RecordService

# What one record's write may refuse with: reported per record, never raised.
ROW_ERRORS = (ValidationError, ConflictError, NotFoundError, PermissionDenied)
Item = TypeVar("Item")


def write_each(
    service: RecordService, items: Sequence[Item], write: Callable[[Connection, Item], Any], *,
    all_or_nothing: bool, catch: tuple[type[QiqiaoError], ...] = ROW_ERRORS,
) -> tuple[list[Any], dict[int, QiqiaoError]]:
    """``write(conn, item)`` for every item: (the results, failures by item index).
    An item that is already an error is a failure as it is."""
    failures: dict[int, QiqiaoError] = {}
    done: list[Any] = []
    with service.database.writer() as conn:
        transaction = conn.begin()
        try:
            for index, item in enumerate(items):
                if isinstance(item, QiqiaoError):
                    failures[index] = item
                    continue
                try:
                    with conn.begin_nested():
                        done.append(write(conn, item))
                except catch as error:
                    failures[index] = error
            if failures and all_or_nothing:
                transaction.rollback()
                return [], failures
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    return done, failures


def update_each(
    service: RecordService, form_key: str, rows: Sequence[tuple[int, int, dict[str, Any]] | QiqiaoError],
    *, actor: Actor, all_or_nothing: bool, catch: tuple[type[QiqiaoError], ...] = ROW_ERRORS,
) -> tuple[list[dict[str, Any]], dict[int, QiqiaoError]]:
    """Update each ``(id, version, changes)`` as ``RecordService.update`` does."""
    def update(conn: Connection, row: Any) -> dict[str, Any]:
        record_id, version, changes = row
        return service.update(form_key, record_id, changes, version=version, actor=actor, connection=conn)

    return write_each(service, rows, update, all_or_nothing=all_or_nothing, catch=catch)


def delete_each(
    service: RecordService, form_key: str, rows: Sequence[tuple[int, int]], *, actor: Actor,
) -> tuple[list[int], dict[int, QiqiaoError]]:
    """Delete each ``(id, version)``; those that may not be deleted are failures."""
    def delete(conn: Connection, row: tuple[int, int]) -> int:
        service.delete(form_key, row[0], version=row[1], actor=actor, connection=conn)
        return row[0]

    return write_each(service, rows, delete, all_or_nothing=False)
