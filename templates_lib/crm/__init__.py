"""The CRM template package: ``app.yaml`` and ``forms/*.yaml`` in this folder.

``PACKAGE_PATH`` is what the loader and the installer are given::

    from engine.definitions.loader import load_package
    from engine.fields import FIELD_TYPES
    from templates_lib.crm import PACKAGE_PATH

    app = load_package(PACKAGE_PATH, FIELD_TYPES)

The data model and how the maven-crm sample maps onto it: docs/crm.md.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_PATH = Path(__file__).resolve().parent

__all__ = ["PACKAGE_PATH"]
