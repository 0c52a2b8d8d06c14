"""Write ``schemas/form.schema.json`` for a field type registry named on the command line.

    .venv/bin/python -m engine.definitions.write_form_schema engine.fields:FIELD_TYPES

The registry is named, not imported, because this layer sits below the field
types (DESIGN §2). A test keeps the committed file equal to what this writes.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from engine.definitions.form_schema import FORM_SCHEMA_FILE, form_schema, render


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``form.schema.json`` for the registry named ``module:attribute``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or ":" not in args[0]:
        print("usage: python -m engine.definitions.write_form_schema MODULE:REGISTRY", file=sys.stderr)
        return 2
    module_name, _, attribute = args[0].partition(":")
    registry = getattr(importlib.import_module(module_name), attribute)
    FORM_SCHEMA_FILE.write_text(render(form_schema(registry)), encoding="utf-8")
    print(f"wrote {FORM_SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
