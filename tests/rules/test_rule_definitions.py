"""Rule files are checked with file and path in every message: the common
shape by the loader, each trigger and action by its type (qiqiao app validate)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.fields import FIELD_TYPES
from engine.packages.validation import validate_app_package
from runtime.cli import main
from tests.rules.conftest import write_package

GOOD = {"key": "ok", "label": "OK", "form": "deal", "trigger": {"type": "record_created"},
        "actions": [{"type": "update_record", "values": {"flag": '"x"'}}]}


def problems(tmp_path: Path, *rules: dict) -> list[tuple[str, str, str]]:
    issues = validate_app_package(write_package(tmp_path / "pkg", list(rules)), FIELD_TYPES)
    return [(i.file, i.json_path, i.message.en) for i in issues]


def test_a_good_rule_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD) == []


def test_the_common_shape_and_the_form_are_checked_by_the_loader(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {**GOOD, "key": "no_form", "form": "dael"},
        {**GOOD, "key": "bad_condition", "condition": "amount >"},
        {**GOOD, "key": "unknown_name", "condition": "amont > 1"},
        {"key": "no_actions", "label": "x", "form": "deal", "trigger": {"type": "record_created"}, "actions": []},
    )
    by_file = {f: (p, m) for f, p, m in found}
    assert by_file["rules/no_form.yaml"][0] == "form" and "deal" in by_file["rules/no_form.yaml"][1]
    assert by_file["rules/bad_condition.yaml"][0] == "condition"
    assert by_file["rules/unknown_name.yaml"][0] == "condition" and "amount" in by_file["rules/unknown_name.yaml"][1]
    assert by_file["rules/no_actions.yaml"][0] == "actions"


def test_triggers_and_actions_are_checked_by_their_types(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {**GOOD, "key": "a", "trigger": {"type": "record_creatd"}},
        {**GOOD, "key": "b", "trigger": {"type": "record_updated", "fields": ["stag"]}},
        {**GOOD, "key": "c", "actions": [{"type": "update_record", "values": {"flg": '"x"'}}]},
        {**GOOD, "key": "d", "actions": [{"type": "create_record", "form": "contract", "values": {"title": "1 +"}}]},
        {**GOOD, "key": "e", "actions": [{"type": "update_record"}]},
        {**GOOD, "key": "f", "actions": [{"type": "update_related", "target": "name", "values": {"x": "1"}}]},
    )
    got = {(f, p) for f, p, _ in found}
    assert ("rules/a.yaml", "trigger.type") in got
    assert ("rules/b.yaml", "trigger.fields[0]") in got
    assert ("rules/c.yaml", "actions[0].values.flg") in got
    assert ("rules/d.yaml", "actions[0].values.title") in got
    assert ("rules/e.yaml", "actions[0]") in got
    assert ("rules/f.yaml", "actions[0].target") in got
    messages = {f: m for f, _, m in found}
    assert "record_created" in messages["rules/a.yaml"]  # did you mean


def test_qiqiao_app_validate_reports_rule_problems(tmp_path: Path) -> None:
    root = write_package(tmp_path / "pkg", [{**GOOD, "actions": [{"type": "sned"}]}])
    result = CliRunner().invoke(main, ["app", "validate", str(root)])
    assert result.exit_code == 1
    assert "rules/ok.yaml" in result.output and "actions[0].type" in result.output
