"""``qiqiao export`` and ``qiqiao import`` as a user runs them: the file
name's extension gives the format, an unknown one is refused before anything
is written, and an export is inert (a real process on a real SQLite file)."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.commands import run


def test_an_unknown_extension_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    database = tmp_path / "qiqiao.sqlite3"
    run("init", database=database)
    run("template", "install", "crm", database=database)
    for name in ("customers.pdf", "customers"):
        target = tmp_path / name
        refused = run("export", "crm", "customer", str(target), "--locale", "en", database=database, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert f"Cannot tell the format of {name}: the file name must end in .csv or .xlsx" in refused.stderr
        assert not target.exists()

    source = tmp_path / "customers.csv"
    source.write_text('name,level\n"=HYPERLINK(""http://evil"",""x"")",nope\n', encoding="utf-8")
    errors = tmp_path / "errors.pdf"
    refused = run("import", "crm", "customer", str(source), "--errors-out", str(errors), "--locale", "en",
                  database=database, check=False)
    assert refused.returncode == 1 and "errors.pdf" in refused.stderr
    assert "0 created" not in refused.stdout  # refused before the import ran

    failed = run("import", "crm", "customer", str(source), "--errors-out", str(tmp_path / "errors.csv"),
                 "--locale", "en", database=database, check=False)
    assert "1 failed" in failed.stdout
    with (tmp_path / "errors.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\",\"x\")"  # the failed rows' file is inert too


def test_a_file_that_is_not_utf8_is_refused_before_any_row_is_imported(tmp_path: Path) -> None:
    database = tmp_path / "qiqiao.sqlite3"
    run("init", database=database)
    run("template", "install", "crm", database=database)
    source = tmp_path / "customers.csv"
    rows = "".join(f"C{i},a\n" for i in range(3000))
    source.write_bytes(f"name,level\n{rows}".encode() + b"Bad \xff\xfe,a\n")  # far past the first batch
    refused = run("import", "crm", "customer", str(source), "--locale", "en", database=database, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "Line 3002 of the file is not UTF-8 text: save it as CSV UTF-8 or as .xlsx" in refused.stderr
    exported = tmp_path / "after.csv"
    assert "Exported 0 record(s)" in run("export", "crm", "customer", str(exported), database=database).stdout
