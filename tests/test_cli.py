"""The ``qiqiao`` command, run as a user runs it: a real process, a real database file."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.commands import ROOT, run


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "qiqiao.sqlite3"


def test_init_install_import_export(database: Path, tmp_path: Path) -> None:
    assert "Database ready" in run("init", database=database).stdout
    installed = run("template", "install", "crm", database=database)
    assert "Installed crm" in installed.stdout and "15 forms, 10 roles" in installed.stdout
    again = run("template", "install", "crm", "--locale", "en", database=database, check=False)
    assert again.returncode == 1 and "already installed" in again.stderr.lower() + again.stdout.lower()

    source = tmp_path / "products.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product", "series", "sales_price"])
        writer.writerow(["GTX Basic", "GTX", "550"])
        writer.writerow(["GTX Pro", "GTX", "4821"])
    imported = run("import", "crm", "product", str(source), "--map", "product=name",
                   "--map", "sales_price=sales_price", "--locale", "en", database=database)
    assert "2" in imported.stdout

    target = tmp_path / "products.xlsx"
    exported = run("export", "crm", "product", str(target), "--locale", "en", database=database)
    assert "Exported 2 record(s)" in exported.stdout
    sheet = load_workbook(target, read_only=True).active
    assert sheet is not None
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    names = {row[values[0].index("Product name") if "Product name" in values[0] else 0] for row in values[1:]}
    assert {"GTX Basic", "GTX Pro"} <= names or len(values) == 3


def test_app_validate_lists_every_problem(tmp_path: Path, database: Path) -> None:
    package = tmp_path / "bad"
    (package / "forms").mkdir(parents=True)
    (package / "app.yaml").write_text("schema_version: 1\nkey: shop\nlabel: Shop\nversion: 1.0.0\n")
    (package / "forms" / "order.yaml").write_text(
        "schema_version: 1\nkey: order\nlabel: Order\nfields:\n"
        "  - {key: item, type: relation, target: prodcut, label: Item}\n"
        "  - {key: total, type: formula, formula: 'amout * 2', result_type: number, label: Total}\n"
    )
    result = run("app", "validate", str(package), "--locale", "en", database=database, check=False)
    assert result.returncode == 1
    assert "forms/order.yaml: fields[0].target" in result.stderr
    assert "amout" in result.stderr
    assert "2 problem(s)" in result.stderr
    good = run("app", "validate", str(ROOT / "templates_lib" / "crm"), database=database)
    assert good.stdout.strip().endswith("OK")
    archive = tmp_path / "crm.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in (ROOT / "templates_lib" / "crm").rglob("*.yaml"):
            bundle.write(path, path.relative_to(ROOT / "templates_lib" / "crm"))
    assert run("app", "validate", str(archive), database=database).returncode == 0


def test_errors_are_sentences_not_tracebacks(database: Path, tmp_path: Path) -> None:
    run("init", database=database)
    missing = run("export", "nope", "customer", str(tmp_path / "x.csv"), "--locale", "en",
                  database=database, check=False)
    assert missing.returncode == 1
    assert "not installed" in missing.stderr and "Traceback" not in missing.stderr


# Every command that reads or writes the database, with arguments that would
# otherwise be fine.
DATABASE_COMMANDS = [
    ("import", "crm", "product", "README.md"),
    ("export", "crm", "product", "out.csv"),
    ("template", "install", "crm"),
    ("app", "owner", "list", "crm"),
    ("app", "owner", "add", "crm", "ann"),
    ("user", "list"),
    ("user", "create", "ann", "--name", "Ann", "--password", "correct horse battery"),
    ("user", "import", "README.md"),
    ("token", "create", "ann", "--name", "ERP"),
    ("token", "list", "ann"),
    ("token", "revoke", "1"),
]


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_database_never_set_up_gets_one_sentence(database: Path, command: tuple[str, ...]) -> None:
    result = run(*command, "--locale", "en", database=database, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"The database sqlite:///{database} has not been set up: run qiqiao init first"
    ]
    assert not database.exists()  # no empty file left behind for a mistyped path
    database.write_bytes(b"")  # a file that is not a Qiqiao database says the same
    again = run(*command, "--locale", "en", database=database, check=False)
    assert again.returncode == 1 and "run qiqiao init first" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize("command", [("user", "list", "--locale", "en"), ("init", "--locale", "en"),
                                     ("demo", "--no-serve")], ids=lambda c: c[0])
def test_an_unreachable_database_is_one_sentence(tmp_path: Path, command: tuple[str, ...]) -> None:
    env_database = tmp_path / "unused.sqlite3"
    result = run(*command, "--database", "postgresql://nobody@127.0.0.1:1/none",
                 database=env_database, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot open the database postgresql://nobody@127.0.0.1:1/none: ")
    assert len(result.stderr.strip().splitlines()) == 1
