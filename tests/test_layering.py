"""The layers of DESIGN §2, checked on the source: what may import what.

- ``engine`` knows nothing of Flask, the runtime or the builder.
- ``engine/core`` imports nothing else of Qiqiao.
- ``engine/expr`` imports only ``engine/core`` (and itself).
- ``runtime`` and ``builder`` never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ("flask", "werkzeug", "jinja2", "granian", "waitress", "gunicorn")


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def violations(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for path in sources(package):
        for name in imports_of(path):
            root_hit = any(name == f or name.startswith(f + ".") for f in forbidden)
            if root_hit and not any(name == a or name.startswith(a + ".") for a in allowed):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_the_packages_exist() -> None:
    for package in ("engine", "runtime", "builder", "templates_lib"):
        assert (ROOT / package / "__init__.py").exists()
    assert len(sources("engine")) > 10


# Print and message templates are Jinja2 in a sandbox (docs/printing.md, docs/rules.md): templating, not the web.
PRINT_TEMPLATING = ("engine/definitions/print_templates.py", "engine/definitions/print_filters.py",
                    "engine/printing/", "engine/notify/templates.py")


def test_engine_knows_nothing_of_the_web_or_the_layers_above() -> None:
    bad = violations("engine", (*WEB, "runtime", "builder"))
    assert [b for b in bad if not (b.startswith(PRINT_TEMPLATING) and " imports jinja2" in b)] == []


def test_core_depends_on_nothing_in_qiqiao() -> None:
    forbidden = ("engine", "runtime", "builder", "templates_lib")
    assert violations("engine/core", forbidden, ("engine.core",)) == []


def test_formula_language_depends_only_on_core() -> None:
    allowed = ("engine.core", "engine.expr")
    assert violations("engine/expr", ("engine", "runtime", "builder", "templates_lib"), allowed) == []


# DESIGN §2: lower layers never import higher ones; a level may hold peers.
ENGINE_LEVELS: list[tuple[str, ...]] = [
    ("core",), ("expr",), ("definitions",), ("fields",), ("store",), ("org",), ("records",),
    ("actions", "notify", "printing"), ("rules",), ("flows",), ("reports",), ("packages",),
]


@pytest.mark.parametrize("level", range(len(ENGINE_LEVELS)))
def test_engine_layers_point_down(level: int) -> None:
    higher = tuple(f"engine.{name}" for names in ENGINE_LEVELS[level + 1 :] for name in names)
    bad = []
    for name in ENGINE_LEVELS[level]:
        if (ROOT / "engine" / name).exists() and higher:
            bad += violations(f"engine/{name}", higher)
    assert bad == []


@pytest.mark.parametrize(("package", "other"), [("runtime", "builder"), ("builder", "runtime")])
def test_runtime_and_builder_do_not_import_each_other(package: str, other: str) -> None:
    assert violations(package, (other,)) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule can fail: a module importing flask is reported."""
    module = tmp_path / "bad.py"
    module.write_text("import flask\nfrom runtime.app import x\n", encoding="utf-8")
    assert imports_of(module) == ["flask", "runtime.app"]
