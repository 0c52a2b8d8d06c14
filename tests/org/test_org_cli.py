"""``qiqiao user`` and ``qiqiao token``, run as a user runs them: a real
process, a real database file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import ApiToken
from tests.commands import run


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "qiqiao.sqlite3"
    run("init", database=path)
    return path


def test_create_users_and_sign_in(database: Path) -> None:
    created = run("user", "create", "Admin", "--name", "管理员", "--admin",
                  "--email", "admin@example.com", "--password-stdin",
                  database=database, stdin="correct horse\n")
    assert created.stdout.strip() == "Created admin admin (id 1)"
    plain = run("user", "create", "zhang", "--name", "张三", "--password", "battery staple",
                database=database)
    assert "Created user zhang" in plain.stdout
    nopass = run("user", "create", "li", "--name", "李四", database=database)
    assert "cannot sign in" in nopass.stdout
    bad = run("user", "create", "x", "--name", "X", "--password", "short", "--locale", "en",
              database=database, check=False)
    assert bad.returncode == 1
    assert "The user's details are invalid" in bad.stderr
    assert "2-100 letters" in bad.stderr and "at least 8 characters" in bad.stderr
    assert "Traceback" not in bad.stderr
    taken = run("user", "create", "ADMIN", "--name", "again", "--password", "correct horse",
                database=database, check=False)
    assert taken.returncode == 1 and "已被使用" in taken.stderr

    listed = run("user", "list", database=database).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["1", "admin", "管理员"], ["3", "li", "李四"], ["2", "zhang", "张三"]]
    assert listed[0].endswith("admin")

    db = Database(f"sqlite:///{database}")
    org = OrgService(db)
    assert org.authenticate("admin", "correct horse").is_admin
    assert org.authenticate("zhang", "battery staple").login == "zhang"
    db.dispose()


def test_tokens_are_printed_once_and_revocable(database: Path) -> None:
    run("user", "create", "api", "--name", "API", "--password", "correct horse",
        database=database)
    created = run("token", "create", "api", "--name", "ERP", "--days", "30", database=database)
    plaintext = created.stdout.strip()
    assert plaintext.startswith("qq_") and "\n" not in plaintext
    assert "cannot be shown again" in created.stderr and plaintext not in created.stderr
    listed = run("token", "list", "api", database=database).stdout
    assert listed.startswith(f"1\tERP\t{plaintext[:8]}\t") and plaintext not in listed

    db = Database(f"sqlite:///{database}")
    org = OrgService(db)
    assert org.verify_token(plaintext) == 1
    with db.reading() as conn:
        assert plaintext not in repr(conn.execute(sa.select(ApiToken)).all())

    assert "Revoked token 1" in run("token", "revoke", "1", database=database).stdout
    assert org.get_token(1).revoked_at is not None
    missing = run("token", "revoke", "9", "--locale", "en", database=database, check=False)
    assert missing.returncode == 1 and "There is no token 9" in missing.stderr
    nobody = run("token", "create", "nobody", "--name", "x", "--locale", "en",
                 database=database, check=False)
    assert nobody.returncode == 1 and 'No user has the login "nobody"' in nobody.stderr
    db.dispose()


def test_import_people_with_a_dry_run(database: Path, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("login,name,department,main,position\n"
                      "zhang,张三,总部/销售部,yes,经理\n"
                      "li,李四,总部/研发部,,\n", encoding="utf-8")
    dry = run("user", "import", str(source), "--dry-run", "--locale", "en", database=database)
    assert dry.stdout.startswith("Dry run, nothing written: 2 row(s): 2 user(s) created")
    assert run("user", "list", database=database).stdout == ""
    done = run("user", "import", str(source), "--locale", "en", database=database)
    assert "3 department(s) created" in done.stdout
    assert "总部/销售部" in run("user", "list", database=database).stdout

    broken = tmp_path / "broken.csv"
    broken.write_text("login,name,email\nwang,王五,not-mail\n", encoding="utf-8")
    failed = run("user", "import", str(broken), "--locale", "en", database=database, check=False)
    assert failed.returncode == 1
    assert "row 2, email" in failed.stderr and "nothing was imported" in failed.stderr


def test_app_owners_from_the_command_line(database: Path) -> None:
    run("user", "create", "maker", "--name", "Maker", database=database)
    run("user", "create", "ann", "--name", "Ann", database=database)
    installed = run("template", "install", "crm", "--owner", "maker", database=database)
    assert "owned by maker" in installed.stdout
    assert run("app", "owner", "add", "crm", "ann", database=database).stdout.strip() == "ann now owns crm"
    assert run("app", "owner", "add", "crm", "ann", database=database).stdout.strip() == "ann already owned crm"
    listed = run("app", "owner", "list", "crm", database=database).stdout.splitlines()
    assert [line.split("\t")[1] for line in listed] == ["maker", "ann"]
    assert "no longer owns" in run("app", "owner", "remove", "crm", "ann", database=database).stdout
    missing = run("app", "owner", "add", "nope", "ann", database=database, check=False)
    assert missing.returncode != 0 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    unknown = run("template", "install", "crm", "--owner", "ghost", database=database, check=False)
    assert unknown.returncode != 0 and "ghost" in unknown.stderr
    assert OrgService(Database(f"sqlite:///{database}")).app_owners("crm") == {1}  # maker
