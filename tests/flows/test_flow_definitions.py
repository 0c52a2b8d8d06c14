"""Flow files are checked with file and path in every message: the common
shape and the tree by the loader (engine.definitions.flow_checks), each
node, approver entry and automation action by its type
(engine.flows.checks), all through qiqiao app validate."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

import yaml
from click.testing import CliRunner

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import load_package, validate_package
from engine.fields import FIELD_TYPES
from engine.flows.base import NodeType
from engine.flows.checks import check_flows
from engine.flows.nodes import NODE_TYPES
from engine.packages.validation import validate_app_package
from runtime.cli import main
from tests.flows.flow_package import APPROVAL, flow, write_flow_package

Problem = tuple[str, str, str]


def problems(tmp_path: Path, *flows: dict[str, Any], **options: Any) -> list[Problem]:
    """What the loader and then the checks by type find, as (file, path, message)."""
    issues = validate_app_package(write_flow_package(tmp_path / "shop", list(flows), **options), FIELD_TYPES)
    return [(i.file, i.json_path, i.message.en) for i in issues]


def at(found: list[Problem], file: str) -> dict[str, str]:
    return {p: m for f, p, m in found if f == file}


def node(**changes: Any) -> dict[str, Any]:
    return {"key": "n", "type": "approval", "approvers": [{"type": "submitter"}], **changes}


def choice(*branches: dict[str, Any]) -> dict[str, Any]:
    return {"key": "pick", "type": "exclusive", "branches": list(branches)}


def test_a_good_flow_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, APPROVAL, flow(key="by_condition", trigger={
        "type": "condition", "condition": "amount > 100"})) == []


def test_the_common_shape_is_checked_against_the_schema(tmp_path: Path) -> None:
    bare = {"key": "bare", "form": "deal"}
    found = problems(
        tmp_path, bare,
        flow(key="extra", autopass={"submitter": False}),
        flow(key="trigger_type", trigger={"type": "on_submit"}),
        flow(key="no_condition", trigger={"type": "condition"}),
        flow(key="stray_condition", trigger={"type": "submit", "condition": "amount > 1"}),
        flow(key="bad_keys", nodes=[{"key": "Manager", "type": "approval"},
                                    {"key": "b", "type": "exclusive", "branches": [{"key": "x", "nodes": [],
                                                                                    "when": "1"}]}]),
        flow(key="schema_two", schema_version=2),
    )
    assert {m for f, _, m in found if f == "flows/bare.yaml"} == {"'label' is required", "'nodes' is required"}
    assert "did you mean 'auto_pass'" in at(found, "flows/extra.yaml")["autopass"]
    assert "unknown trigger 'on_submit'" in at(found, "flows/trigger_type.yaml")["trigger.type"]
    assert at(found, "flows/no_condition.yaml") == {"trigger": "'condition' is required"}
    assert "only a trigger of type condition" in at(found, "flows/stray_condition.yaml")["trigger"]
    bad = at(found, "flows/bad_keys.yaml")
    assert "not a valid key" in bad["nodes[0].key"] and "unknown key 'when'" in bad["nodes[1].branches[0].when"]
    assert "this Qiqiao reads 1" in at(found, "flows/schema_two.yaml")["schema_version"]


def test_the_form_formulas_and_field_rights_are_checked(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        flow(key="no_form", form="dael"),
        flow(key="bad_trigger", trigger={"type": "condition", "condition": "amont > 1"}),
        flow(key="bad_rights", nodes=[node(fields={"discont": "editable", "owner": "readonly"})]),
        flow(key="bad_branch", nodes=[choice({"key": "a", "condition": "amount >", "nodes": []},
                                             {"key": "b", "default": True, "nodes": []})]),
    )
    assert "did you mean 'deal'" in at(found, "flows/no_form.yaml")["form"]
    assert "amount" in at(found, "flows/bad_trigger.yaml")["trigger.condition"]
    assert "did you mean 'discount'" in at(found, "flows/bad_rights.yaml")["nodes[0].fields.discont"]
    assert list(at(found, "flows/bad_rights.yaml")) == ["nodes[0].fields.discont"]  # owner is a system field
    assert list(at(found, "flows/bad_branch.yaml")) == ["nodes[0].branches[0].condition"]


def test_keys_are_unique_in_the_flow_and_not_reserved(tmp_path: Path) -> None:
    inner = {"key": "twice", "nodes": [node(key="n")]}
    found = at(problems(tmp_path, flow(nodes=[
        node(key="start"), node(key="twice"),
        {"key": "split", "type": "parallel", "branches": [inner, {"key": "previous", "nodes": []}]},
    ])), "flows/deal_approval.yaml")
    assert "reserved" in found["nodes[0].key"] and "reserved" in found["nodes[2].branches[1].key"]
    assert found["nodes[2].branches[0].key"] == "the key 'twice' is already used at nodes[1].key"
    assert len(found) == 3


def test_a_flow_key_is_defined_once(tmp_path: Path) -> None:
    root = write_flow_package(tmp_path / "shop", [APPROVAL], raw={"flows/again.yaml": "key: deal_approval\n"
                              "label: Again\nform: deal\nnodes: []\n"})
    issues = validate_package(root, FIELD_TYPES)
    assert [(i.file, i.json_path, i.message.en) for i in issues] == [
        ("flows/deal_approval.yaml", "key", "flow 'deal_approval' is already defined in flows/again.yaml")]


def test_an_exclusive_node_has_one_default_and_conditions_on_the_others(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        flow(key="no_default", nodes=[choice({"key": "a", "condition": "amount > 1", "nodes": []})]),
        flow(key="two_defaults", nodes=[choice({"key": "a", "default": True, "nodes": []},
                                               {"key": "b", "default": True, "nodes": []})]),
        flow(key="bare_branch", nodes=[choice({"key": "a", "nodes": []}, {"key": "b", "default": True, "nodes": []})]),
        flow(key="default_condition", nodes=[choice(
            {"key": "a", "condition": "amount > 1", "nodes": []},
            {"key": "b", "default": True, "condition": "amount > 2", "nodes": []})]),
        flow(key="parallel_condition", nodes=[{"key": "both", "type": "parallel", "branches": [
            {"key": "a", "condition": "amount > 1", "priority": 2, "nodes": []}, {"key": "b", "nodes": []}]}]),
    )
    assert "needs one default branch" in at(found, "flows/no_default.yaml")["nodes[0].branches"]
    assert "nodes[0].branches[0] already is" in at(found, "flows/two_defaults.yaml")["nodes[0].branches[1].default"]
    assert "needs a condition" in at(found, "flows/bare_branch.yaml")["nodes[0].branches[0]"]
    assert "has no condition" in at(found, "flows/default_condition.yaml")["nodes[0].branches[1].condition"]
    parallel = at(found, "flows/parallel_condition.yaml")
    assert set(parallel) == {"nodes[0].branches[0].condition", "nodes[0].branches[0].priority"}
    assert "only the branches of an exclusive node" in parallel["nodes[0].branches[0].condition"]


def test_every_branch_can_be_taken(tmp_path: Path) -> None:
    default = {"key": "other", "default": True, "nodes": []}
    found = problems(
        tmp_path,
        flow(key="same", nodes=[choice({"key": "a", "condition": "amount > 1", "nodes": []},
                                       {"key": "b", "condition": "amount>1", "nodes": []}, default)]),
        flow(key="never", nodes=[choice({"key": "a", "condition": "1 > 2", "nodes": []}, default)]),
        flow(key="always", nodes=[choice({"key": "a", "condition": "true", "nodes": []},
                                         {"key": "b", "condition": "amount > 1", "nodes": []}, default)]),
        # Tried by priority, not as written: the always-true branch comes last.
        flow(key="by_priority", nodes=[choice({"key": "a", "condition": "true", "priority": 9, "nodes": []},
                                              {"key": "b", "condition": "amount > 1", "priority": 1, "nodes": []},
                                              default)]),
        flow(key="quoted", nodes=[choice({"key": "a", "condition": 'stage = "a b"', "nodes": []},
                                         {"key": "b", "condition": 'stage = "ab"', "nodes": []}, default)]),
    )
    assert "the same condition as nodes[0].branches[0]" in at(found, "flows/same.yaml")["nodes[0].branches[1].condition"]
    assert "never holds" in at(found, "flows/never.yaml")["nodes[0].branches[0].condition"]
    always = at(found, "flows/always.yaml")
    assert set(always) == {"nodes[0].branches[1].condition", "nodes[0].branches[2].default"}
    assert all("nodes[0].branches[0] always holds" in m for m in always.values())
    by_priority = at(found, "flows/by_priority.yaml")
    assert set(by_priority) == {"nodes[0].branches[2].default"}
    assert at(found, "flows/quoted.yaml") == {}


def test_no_node_follows_an_end(tmp_path: Path) -> None:
    stop = {"key": "stop", "type": "end", "status": "rejected"}
    found = problems(tmp_path, flow(nodes=[
        {"key": "both", "type": "parallel", "branches": [{"key": "a", "nodes": [stop, node(key="late")]},
                                                         {"key": "b", "nodes": [node(key="fine")]}]},
        {"key": "done", "type": "end"}, node(key="later"), node(key="latest")]))
    assert [(p, m) for _, p, m in found] == [
        ("nodes[0].branches[0].nodes[1]", "the flow ends at nodes[0].branches[0].nodes[0]: this node is never reached"),
        ("nodes[2]", "the flow ends at nodes[1]: this node is never reached")]


def test_nodes_are_checked_by_their_types(tmp_path: Path) -> None:
    found = at(problems(tmp_path, flow(nodes=[
        node(key="a", type="aproval"),
        node(key="b", branches=[{"key": "x", "nodes": []}]),
        {"key": "c", "type": "parallel"},
        node(key="d", mode="some"),
        node(key="e", approvers=[{"type": "department_hed", "levels": 1}]),
        node(key="f", approvers=[{"type": "role", "role": "financ"}]),
        node(key="g", approvers=[{"type": "member_field", "field": "name"}]),
        node(key="h", timeout={"after": "3d", "then": "transfer", "transfer_to": [{"type": "members"}]}),
        {"key": "i", "type": "cc", "recipients": [{"type": "chosen", "from": [{"type": "chosen"}]}]},
        {"key": "j", "type": "automation", "actions": [{"type": "update_recrd"}]},
        {"key": "k", "type": "automation", "actions": [{"type": "update_record", "values": {"stag": '"x"'}}]},
        node(key="l", mdoe="all"),
        {"key": "m", "type": "exclusive", "fields": {}, "branches": [{"key": "y", "default": True, "nodes": []}]},
    ])), "flows/deal_approval.yaml")
    assert "did you mean 'approval'" in found["nodes[0].type"]
    assert found["nodes[1].branches"] == "a node of type approval has no branches"
    assert found["nodes[2]"] == "a node of type parallel needs branches"
    assert "some" in found["nodes[3].mode"]
    assert "did you mean 'department_head'" in found["nodes[4].approvers[0].type"]
    assert "has no role 'financ'" in found["nodes[5].approvers[0].role"] and "'finance'" in found[
        "nodes[5].approvers[0].role"]
    assert "member" in found["nodes[6].approvers[0].field"]
    assert "users" in found["nodes[7].timeout.transfer_to[0]"]
    assert found["nodes[8].recipients[0].from[0].type"] == "A choice cannot offer another choice"
    assert "did you mean 'update_record'" in found["nodes[9].actions[0].type"]
    assert "stag" in found["nodes[10].actions[0].values.stag"]
    assert found["nodes[11].mdoe"] == "a node of type approval has no setting 'mdoe' — did you mean 'mode'?"
    assert found["nodes[12].fields"] == "a node of type exclusive has no setting 'fields'"
    assert len(found) == 13


def test_a_role_is_one_the_package_ships(tmp_path: Path) -> None:
    found = problems(tmp_path, APPROVAL, roles=None)
    assert {p for _, p, _ in found} == {"nodes[1].branches[0].nodes[0].approvers[0].role",
                                        "nodes[2].branches[0].nodes[0].approvers[0].role",
                                        "nodes[3].approvers[0].role"}


def test_the_checks_by_type_wait_for_a_package_that_loads(tmp_path: Path) -> None:
    broken = copy.deepcopy(APPROVAL)
    broken["nodes"][0]["approvers"] = [{"type": "nobody"}]
    broken["nodes"][3]["fields"] = {"closed": "required"}
    issues = validate_package(write_flow_package(tmp_path / "shop", [broken]), FIELD_TYPES)
    assert [i.json_path for i in issues] == ["nodes[3].fields.closed"]  # the loader stops before the types


class Stamp(NodeType):
    """A node type a plugin adds: check_flows takes its registry and calls its check."""

    key = "stamp"
    label = Label("盖章", "Stamp")
    description = Label("盖章", "Stamp")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "required": ["seal"], "properties": {"seal": {"type": "string"}}}

    def check(self, checker: Any, node: Any, path: Any) -> None:
        checker.field((*path, "seal"), node.setting("seal"))


def test_a_node_type_from_a_plugin_is_checked_by_its_schema_and_check(tmp_path: Path) -> None:
    types: Registry[NodeType] = Registry("node type")
    types.register_all([*NODE_TYPES, Stamp()])
    root = write_flow_package(tmp_path / "shop", [flow(nodes=[
        {"key": "a", "type": "stamp"}, {"key": "b", "type": "stamp", "seal": "stag"},
        {"key": "c", "type": "stamp", "seal": "stage"}])])
    found = check_flows(load_package(root, FIELD_TYPES), FIELD_TYPES, node_types=types)
    assert [(i.json_path, i.message.en) for i in found] == [
        ("nodes[0]", "'seal' is required"),
        ("nodes[1].seal", "form 'deal' has no field 'stag' — did you mean 'stage'?")]


def test_qiqiao_app_validate_reports_flow_problems(tmp_path: Path) -> None:
    broken = flow(nodes=[{"key": "a", "type": "aproval", "approvers": [{"type": "submitter"}]}])
    result = CliRunner().invoke(main, ["app", "validate", str(write_flow_package(tmp_path / "shop", [broken]))])
    assert result.exit_code == 1
    assert "flows/deal_approval.yaml" in result.output and "nodes[0].type" in result.output
    assert "是否指 'approval'" in result.output


def test_the_crm_flows_validate() -> None:
    from templates_lib.crm import PACKAGE_PATH

    app = load_package(PACKAGE_PATH, FIELD_TYPES)
    assert [f.key for f in app.flows] == ["contract_approval", "payment_receipt", "quote_discount_approval",
                                         "ticket_escalation"]
    assert validate_app_package(PACKAGE_PATH, FIELD_TYPES) == []
    roles = {r.key for r in app.roles}
    named = {e["role"] for f in app.flows for p in f.walk()
             for e in (*p.node.setting("approvers", ()), *p.node.setting("recipients", ())) if e["type"] == "role"}
    assert named == {"finance", "general_manager", "legal", "sales_director", "service_manager"} and named <= roles


def test_an_overlay_flow_points_at_the_base_app(tmp_path: Path) -> None:
    base = load_package(write_flow_package(tmp_path / "shop", []), FIELD_TYPES)
    overlay = tmp_path / "plus"
    (overlay / "flows").mkdir(parents=True)
    (overlay / "app.yaml").write_text(yaml.safe_dump({"schema_version": 1, "key": "shop_plus", "label": "Shop+",
                                                      "extends": "shop"}), encoding="utf-8")
    broken = flow(nodes=[node(key="a", fields={"amout": "editable"}), node(key="b", approvers=[
        {"type": "role", "role": "finance"}, {"type": "role", "role": "auditor"}])])
    (overlay / "flows" / "deal_approval.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    # Without its base, what it points at may exist there: nothing to say.
    assert validate_app_package(overlay, FIELD_TYPES) == []
    found = [(i.json_path, i.message.en) for i in validate_app_package(overlay, FIELD_TYPES, base=base)]
    assert [p for p, _ in found] == ["nodes[0].fields.amout"]
    broken["nodes"][0]["fields"] = {"amount": "editable"}
    (overlay / "flows" / "deal_approval.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert [(i.json_path, i.message.en) for i in validate_app_package(overlay, FIELD_TYPES, base=base)] == [
        ("nodes[1].approvers[1].role", "the package has no role 'auditor' (roles.yaml)")]  # finance is the base's


def test_a_rule_names_a_flow_of_its_own_form(tmp_path: Path) -> None:
    def rule(key: str, form: str, trigger: dict[str, Any], actions: list[dict[str, Any]]) -> str:
        return yaml.safe_dump({"schema_version": 1, "key": key, "label": key, "form": form,
                               "trigger": trigger, "actions": actions})

    note = {"type": "update_record", "values": {"stage": '"done"'}}
    memo = {"schema_version": 1, "key": "memo", "label": "Memo", "title_field": "subject",
            "fields": [{"key": "subject", "type": "text", "label": "Subject"}]}
    (tmp_path / "shop" / "rules").mkdir(parents=True)
    root = write_flow_package(tmp_path / "shop", [APPROVAL], raw={
        "forms/memo.yaml": yaml.safe_dump(memo),
        "rules/typo.yaml": rule("typo", "deal", {"type": "flow_approved", "flow": "deal_aproval"}, [note]),
        "rules/other_form.yaml": rule("other_form", "memo", {"type": "record_created"},
                                      [{"type": "start_flow", "flow": "deal_approval"}]),
        "rules/fine.yaml": rule("fine", "deal", {"type": "flow_node_reached", "flow": "deal_approval"}, [
            note, {"type": "start_flow", "flow": "deal_approval"}]),
    })
    found = [(i.file, i.json_path, i.message.en) for i in validate_app_package(root, FIELD_TYPES)]
    assert found == [
        ("rules/other_form.yaml", "actions[0].flow", "flow 'deal_approval' runs on form 'deal', not on 'memo'"),
        ("rules/typo.yaml", "trigger.flow", "there is no flow 'deal_aproval' — did you mean 'deal_approval'?"),
    ]
