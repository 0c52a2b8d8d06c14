"""Loading packages: folders and zips, YAML and JSON, the AppDef that comes out,
and the problems of reading files (syntax errors, empty files, a missing manifest)."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from package_helpers import APP, EXAMPLES, forms, write

from engine.core.errors import DefinitionError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import (
    AppDef,
    DefinitionIssue,
    PackageError,
    format_issues,
    load_package,
    validate_package,
)
from engine.fields import FieldType

Issues = Callable[..., list[str]]


def zip_folder(folder: Path, target: Path, *, top: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, top + file.relative_to(folder).as_posix())
    return target


def test_the_minimal_example_loads(field_types: Registry[FieldType]) -> None:
    app = load_package(EXAMPLES / "minimal", field_types)
    assert isinstance(app, AppDef)
    assert (app.key, app.label, app.version) == ("notes", Label("便签", "便签"), "0.1.0")
    note = app.get_form("note")
    assert note.app == "notes" and note.table_name == "notes_note"
    assert note.label == Label("note", "note")
    assert [f.key for f in note.fields] == ["title"]


def test_the_full_example_loads_with_everything_in_place(field_types: Registry[FieldType]) -> None:
    app = load_package(EXAMPLES / "full", field_types)
    assert app.key == "sales" and app.version == "1.2.0"
    assert app.label == Label("销售管理", "Sales")
    assert app.description == Label("客户、产品与报价", "Customers, products and quotes")
    assert (app.icon, app.author, app.requires) == ("briefcase", "Qiqiao", ("qiqiao>=0.1",))
    assert [f.key for f in app.forms] == ["customer", "product", "quote"]
    assert all(form.app == "sales" for form in app.forms)

    quote = app.get_form("quote")
    assert quote.title_field == "name"
    items = quote.get_field("items")
    assert [c.key for c in items.fields] == ["product", "quantity", "unit_price", "subtotal"]
    assert items.child("subtotal") is not None
    assert items.child("subtotal").setting("formula") == "quantity * unit_price"  # type: ignore[union-attr]
    assert quote.get_field("customer").setting("target") == "customer"
    assert [r.key for r in quote.rules] == [
        "big_discount", "won_is_final", "valid_after_date", "name_from_customer",
    ]
    assert quote.rules[2].actions[0].message == Label(
        "有效期不能早于报价日期", "Valid until cannot be before the quote date"
    )
    assert quote.list_views[0].sort[0].desc is True
    assert quote.list_views[0].page_size == 100
    assert quote.indexes[0].fields == ("customer", "created_at")
    assert quote.layout[0] == {"fields": ["name", "customer", "customer_industry"]}
    approval = app.flow("quote_approval")
    assert approval is not None and approval.form == "quote"
    assert [p.node.key for p in approval.walk()] == ["manager", "discount_check", "director"]
    # YAML 1.2 scalars: an option keyed "no" stays text, not False.
    industry = app.get_form("customer").get_field("industry")
    assert [o["key"] for o in industry.setting("options")] == ["manufacturing", "retail", "no"]
    assert industry.default == "no"
    # The JSON form reads the same as a YAML one.
    assert app.get_form("product").indexes[0].unique is True


@pytest.mark.parametrize("top", ["", "sales/"], ids=["contents", "folder"])
def test_a_zip_loads_like_the_folder(
    tmp_path: Path, field_types: Registry[FieldType], top: str
) -> None:
    archive = zip_folder(EXAMPLES / "full", tmp_path / "sales.zip", top=top)
    assert load_package(archive, field_types) == load_package(EXAMPLES / "full", field_types)


def test_a_json_manifest_and_json_forms_load(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    import json

    root = write(tmp_path / "pkg", None, {f"{k}.json": v for k, v in forms().items()})
    (root / "app.json").write_text(json.dumps(APP), encoding="utf-8")
    app = load_package(root, field_types)
    assert [f.key for f in app.forms] == ["customer", "product", "quote"]


def test_other_folders_and_files_are_left_alone(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    root = write(tmp_path / "pkg", APP, forms())
    for folder in ("print", "data", "forms/drafts"):
        (root / folder).mkdir()
        (root / folder / "x.yaml").write_text("not: [valid", encoding="utf-8")
    (root / "forms" / "README.md").write_text("# notes", encoding="utf-8")
    (root / "forms" / ".hidden.yaml").write_text("{", encoding="utf-8")
    (root / "notes.yaml").write_text("{", encoding="utf-8")  # menus.yaml, roles.yaml, rules/, flows/, reports/ and dashboards/ are read
    assert validate_package(root, field_types) == []


def test_a_package_error_carries_every_issue_in_both_languages(
    tmp_path: Path, field_types: Registry[FieldType]
) -> None:
    quote = forms()["quote"]
    quote["fields"][1]["target"] = "custmer"
    quote["fields"][2]["type"] = "mony"
    root = write(tmp_path / "pkg", APP, forms(quote=quote))
    with pytest.raises(PackageError) as caught:
        load_package(root, field_types)
    error = caught.value
    assert isinstance(error, DefinitionError)
    assert [issue.json_path for issue in error.issues] == ["fields[1].target", "fields[2].type"]
    assert str(error) == (
        "package pkg has 2 problems:\n"
        "forms/quote.yaml: fields[1].target: form 'custmer' does not exist — did you mean 'customer'?\n"
        "forms/quote.yaml: fields[2].type: unknown field type 'mony' — did you mean 'money'?"
    )
    assert error.text("zh") == (
        "应用包 pkg 有 2 个问题：\n"
        "forms/quote.yaml: fields[1].target: 表单 'custmer' 不存在，是否指 'customer'？\n"
        "forms/quote.yaml: fields[2].type: 未知的字段类型 'mony'，是否指 'money'？"
    )
    assert error.as_dict()["details"][0] == {
        "file": "forms/quote.yaml",
        "path": "fields[1].target",
        "line": None,
        "message": "form 'custmer' does not exist — did you mean 'customer'?",
    }


def test_format_issues_renders_paths_lines_and_whole_files() -> None:
    issues = [
        DefinitionIssue("forms/a.yaml", "fields[0].key", Label("重复", "duplicate")),
        DefinitionIssue("forms/b.yaml", "", Label("无法解析", "unreadable"), line=7),
        DefinitionIssue("app.yaml", "", Label("缺少", "missing")),
    ]
    assert format_issues(issues) == (
        "forms/a.yaml: fields[0].key: duplicate\nforms/b.yaml: line 7: unreadable\napp.yaml: missing"
    )
    assert format_issues(issues, "zh-CN").splitlines()[1] == "forms/b.yaml: 第 7 行: 无法解析"


# --- reading problems ---------------------------------------------------------


def test_unreadable_yaml_names_the_file_and_line(issues_of: Issues) -> None:
    broken = "schema_version: 1\nkey: quote\nfields:\n  - {key: name, type: text\n  - key: x\n"
    assert issues_of(forms(quote=broken)) == [
        "forms/quote.yaml: line 5: not valid YAML: expected ',' or '}', but got ':' (column 8)",
    ]
    assert issues_of(forms(quote=broken), locale="zh") == [
        "forms/quote.yaml: 第 5 行: YAML 无法解析：expected ',' or '}', but got ':'（第 8 列）",
    ]


def test_tabs_and_bad_indentation_are_syntax_errors_too(issues_of: Issues) -> None:
    found = issues_of(forms(quote="key: quote\n\tfields: []\n"))
    assert len(found) == 1 and found[0].startswith("forms/quote.yaml: line 2: not valid YAML:")


def test_a_key_given_twice_is_an_error_not_an_overwrite(issues_of: Issues) -> None:
    text = "schema_version: 1\nkey: quote\nfields: []\nkey: offer\n"
    assert issues_of(forms(quote=text)) == ["forms/quote.yaml: line 4: the key 'key' appears twice"]


def test_unreadable_json_names_the_line(issues_of: Issues) -> None:
    assert issues_of(forms(**{"quote": None, "quote.json": '{"key": "quote",\n "fields": [}'})) == [
        "forms/quote.json: line 2: not valid JSON: Expecting value (column 13)",
    ]


def test_empty_and_non_mapping_files(issues_of: Issues) -> None:
    assert issues_of(forms(quote="# nothing yet\n", product="- a\n- b\n")) == [
        "forms/product.yaml: expected a mapping (key: value), got a list",
        "forms/quote.yaml: the file is empty",
    ]


def test_a_yaml_alias_bomb_is_refused(issues_of: Issues) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    assert issues_of(forms(quote=bomb)) == [
        "forms/quote.yaml: the file expands to more than 500000 values",
    ]


def test_text_that_is_not_utf8(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    root = write(tmp_path / "pkg", APP, forms())
    (root / "forms" / "quote.yaml").write_bytes("key: 报价".encode("gbk"))
    assert format_issues(validate_package(root, field_types)) == (
        "forms/quote.yaml: the file is not UTF-8 text (byte 5)"
    )


def test_a_missing_manifest(issues_of: Issues, tmp_path: Path, field_types: Registry[FieldType]) -> None:
    root = write(tmp_path / "pkg", None, forms())
    assert format_issues(validate_package(root, field_types)) == (
        "app.yaml: the app manifest app.yaml is missing"
    )


def test_two_manifests(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    root = write(tmp_path / "pkg", APP, forms())
    shutil.copy(root / "app.yaml", root / "app.yml")
    assert format_issues(validate_package(root, field_types)) == (
        "app.yml: a package has one manifest: app.yaml is already there"
    )


def test_a_path_that_is_no_package(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    for path in (tmp_path / "missing", tmp_path / "notes.txt"):
        [issue] = validate_package(path, field_types)
        assert issue.message.en == f"{path} is not a folder or a zip file"
    with pytest.raises(PackageError):
        load_package(tmp_path / "missing", field_types)
