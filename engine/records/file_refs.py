"""Files a record names must be files the storage holds.

A file value (attachment, image, signature) is metadata — id, name, size,
content type, hash — and a client could send any of it: an id like
``../../etc/passwd``, a PDF said to be ``image/png``, a size of 0. So every
file value a write gives is looked up in ``files`` (one query for a whole
batch): an id the storage does not hold is refused at its field, and the
metadata kept is the storage's, never the client's. The field's own checks
(size, extensions, images only) then run again on what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.files import AttachmentType, stored_metadata
from engine.records.compiled import CompiledForm
from engine.store.models import StoredFile

FieldErrors = dict[str, list[Label]]
FILES = cast(sa.Table, StoredFile.__table__)
CHUNK = 500

# (where in the row, the field, its type, the value)
Reference = tuple[str, FieldDef, AttachmentType, Any]


def file_references(compiled: CompiledForm, values: Mapping[str, Any], given: set[str]) -> Iterator[Reference]:
    """The file values among the ``given`` keys of a record, subform rows included."""
    for key in given:
        f = compiled.fields.get(key)
        value = values.get(key)
        if f is None or value is None:
            continue
        field_type = compiled.types[key]
        if isinstance(field_type, AttachmentType):
            yield key, f, field_type, value
        elif key in compiled.child_types and isinstance(value, list):
            children = compiled.child_types[key]
            for index, row in enumerate(value):
                for child in f.fields:
                    child_type = children.get(child.key)
                    if isinstance(child_type, AttachmentType) and isinstance(row, Mapping) \
                            and row.get(child.key) is not None:
                        yield f"{key}[{index}].{child.key}", child, child_type, row[child.key]


def check_files(
    conn: Connection, compiled: CompiledForm, rows: Sequence[tuple[Mapping[str, Any], set[str]]],
) -> dict[int, FieldErrors]:
    """Check the file values each row gives (``(values, the keys given)``),
    putting the stored metadata in place; the problems by row index."""
    found = [(index, ref) for index, (values, given) in enumerate(rows)
             for ref in file_references(compiled, values, given)]
    if not found:
        return {}
    wanted = sorted({str(item["id"]) for _, (_, _, kind, value) in found for item in kind.files_in(value)})
    stored: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), CHUNK):
        query = sa.select(FILES).where(FILES.c.id.in_(wanted[start:start + CHUNK]))
        stored.update((str(row["id"]), stored_metadata(dict(row))) for row in conn.execute(query).mappings())
    problems: dict[int, FieldErrors] = {}
    for index, (where, f, kind, value) in found:
        messages: list[Label] = []
        for item in kind.files_in(value):
            known = stored.get(str(item["id"]))
            if known is None:
                messages.append(kind.not_stored(item))
            else:
                item.update(known)
        if not messages:
            messages = kind.validate(f, value)
        if messages:
            problems.setdefault(index, {}).setdefault(where, []).extend(messages)
    return problems


def check_record_files(
    conn: Connection, compiled: CompiledForm, values: Mapping[str, Any], errors: FieldErrors, given: set[str],
) -> None:
    """``check_files`` for one record, its problems added to ``errors``."""
    for where, messages in check_files(conn, compiled, [(values, given)]).get(0, {}).items():
        if where not in errors:
            errors[where] = messages
