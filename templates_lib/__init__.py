"""Template packages that ship with Qiqiao (the CRM).

``TEMPLATES`` is the registry of built-in templates, keyed by app key: what
``qiqiao template install crm`` looks up. Each entry says where the package
folder is; the package itself (its ``app.yaml``) stays the source of truth
for everything else, and a test keeps the key and label here in step with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.core.i18n import Label
from engine.core.registry import Registry
from templates_lib.crm import PACKAGE_PATH as CRM_PATH


@dataclass(frozen=True)
class Template:
    """A template package shipped with Qiqiao: its app key, its name and its folder."""

    key: str
    label: Label
    path: Path


def build_templates() -> Registry[Template]:
    """Every built-in template, registered in one place."""
    registry: Registry[Template] = Registry("template")
    registry.register(Template("crm", Label("客户关系管理", "CRM"), CRM_PATH))
    return registry


TEMPLATES: Registry[Template] = build_templates()

__all__ = ["TEMPLATES", "Template", "build_templates"]
