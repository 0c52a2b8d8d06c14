"""Records as the API's JSON: each value in its field type's JSON form
(``FieldType.json_value``: decimals as strings, moments in ISO 8601 UTC,
subform rows with their ids), the system fields as they are.

Most types' JSON form is the generic one (``plain_json``), and that is left
to the JSON encoder: it meets a ``Decimal`` or a ``datetime`` only where one
is, in C, and asks ``runtime.jsonio.json_default`` for it. Only fields whose type has a JSON
form of its own are encoded here, by the type, before the encoder runs —
so a page of 50 records costs little more than its ``json.dumps``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.records.compiled import CompiledForm

Encoder = Callable[[Any], Any]


def field_encoder(ftype: FieldType, field: FieldDef) -> Encoder | None:
    """The encoder of a field's values, or None when the generic JSON form is
    theirs. A computed type that behaves as its result type (``result``)
    encodes as that type does."""
    if type(ftype).json_value is FieldType.json_value:
        return None
    result = getattr(ftype, "result", None)
    if callable(result):
        result_type, as_result = result(field)
        if isinstance(result_type, FieldType) and result_type is not ftype:
            return field_encoder(result_type, as_result)
    return functools.partial(ftype.json_value, field)


class RecordJSON:
    """Prepares the records of one form for the JSON encoder, in place."""

    def __init__(self, compiled: CompiledForm) -> None:
        self.encoders: dict[str, Encoder] = {}
        for key, field in compiled.fields.items():
            encoder = field_encoder(compiled.types[key], field)
            if encoder is not None:
                self.encoders[key] = encoder

    def encode(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` ready for JSON (the same dict, changed in place)."""
        for key, encode in self.encoders.items():
            value = record.get(key)
            if value is not None:
                record[key] = encode(value)
        for key in [k for k in record if k[0] == "_"]:
            del record[key]  # the query's own columns (_sort_0 ...)
        return record

    def encode_all(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The rows of a page have the same keys: the query's own show in the first.
        extra = [k for k in records[0] if k[0] == "_"] if records else []
        encoders = self.encoders.items()
        for record in records:
            for key, encode in encoders:
                value = record.get(key)
                if value is not None:
                    record[key] = encode(value)
            for key in extra:
                record.pop(key, None)
        return records
