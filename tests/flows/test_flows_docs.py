"""docs/flows.md documents every registered node type, approver resolver
and task action (a new one without its ``### `key` `` heading fails here),
every key of the flow file, and shows the CRM's contract approval as it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.core.registry import Registry
from engine.definitions.flow_files import flow_schema
from engine.flows.nodes import NODE_TYPES
from engine.flows.resolvers import RESOLVERS
from engine.flows.task_actions import TASK_ACTIONS
from templates_lib.crm import PACKAGE_PATH

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "flows.md").read_text(encoding="utf-8")
SECTIONS = [(NODE_TYPES, "Node types"), (RESOLVERS, "Approvers"), (TASK_ACTIONS, "Task actions")]


def section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOCS, re.MULTILINE | re.DOTALL)
    assert found, f"docs/flows.md has no '## {title}' section"
    return found.group(1)


@pytest.mark.parametrize(("registry", "title"), SECTIONS, ids=[t for _, t in SECTIONS])
def test_every_registered_key_has_its_heading_and_no_other(registry: Registry[Any], title: str) -> None:
    documented = re.findall(r"^### `([a-z_]+)`\s*$", section(title), re.MULTILINE)
    keys = registry.keys()
    missing = [key for key in keys if key not in documented]
    assert missing == [], f"docs/flows.md '## {title}' has no '### `key`' for: {', '.join(missing)}"
    assert [key for key in documented if key not in keys] == [], f"'## {title}' documents unknown keys"


def test_every_key_of_the_flow_file_is_in_its_table() -> None:
    table = section("The flow file")
    missing = [key for key in flow_schema()["properties"] if f"| `{key}` |" not in table]
    assert missing == []
    branch = flow_schema()["$defs"]["branch"]["properties"]
    assert [key for key in branch if f"| `{key}` |" not in DOCS] == []


def test_the_example_is_the_crm_contract_approval() -> None:
    example = re.search(r"```yaml\n(.*?)```", DOCS, re.DOTALL)
    assert example is not None
    shipped = (Path(PACKAGE_PATH) / "flows" / "contract_approval.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(example.group(1)) == yaml.safe_load(shipped)
