"""The maven-crm sample imported into the CRM template through import_file
(templates_lib.datasets), with what it gets wrong reported row by row.

The expected failures are worked out here from the CSV files with the csv
module, independently of the importer."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from engine.fields import FIELD_TYPES
from engine.packages.install import install_package
from engine.records import RecordService
from engine.store.database import Database
from templates_lib.crm import PACKAGE_PATH
from templates_lib.datasets import find_dataset, import_maven_pipeline, import_maven_reference

MAVEN = find_dataset("maven-crm")


def rows(name: str) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows with the row number a spreadsheet shows (header = row 1)."""
    with (MAVEN / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


@pytest.fixture
def service(database: Database) -> RecordService:
    return RecordService(database, install_package(database, PACKAGE_PATH, FIELD_TYPES))


class MavenImport:
    """The tests, run once per database kind by the classes below: a class
    per kind lets ``--dist loadscope`` give the two long imports to two workers."""

    def test_the_pipeline_reports_every_misspelt_product_and_a_rerun_with_the_fix_loads_the_rest(
        self, service: RecordService,
    ) -> None:
        reference = import_maven_reference(service, MAVEN)
        assert [r.failures for r in reference.values()] == [[], [], [], []]
        assert (reference["sales_agent"].created, reference["product"].created, reference["customer"].created) == (
            35, 7, 85)
        assert (reference["customer_parents"].updated, reference["customer_parents"].skipped) == (15, 70)

        pipeline = rows("sales_pipeline.csv")
        misspelt = [(number, "product", "GTXPro") for number, row in pipeline if row["product"] == "GTXPro"]
        assert len(misspelt) == 1480

        first = import_maven_pipeline(service, MAVEN)
        assert [(f.row_number, f.column, f.value) for f in first.failures] == misspelt
        assert {f.message.en for f in first.failures} == {
            "No Product has Product name \"GTXPro\" — did you mean \"GTX Pro\"?"}
        assert {f.message.zh for f in first.failures} == {"产品中没有产品名称为“GTXPro”的记录，是否指“GTX Pro”？"}
        assert (first.rows, first.created, first.failed, first.skipped) == (8800, 8800 - 1480, 1480, 0)
        assert first.created + first.failed == 8800

        # Opportunities without an account: the template does not require a
        # customer (only a won deal needs one), so they are accepted, blank.
        customer = service.form("opportunity")[0].form.get_field("customer")
        assert customer.required is False
        no_account = {number for number, row in pipeline if not row["account"]}
        assert len(no_account) == 1425
        assert not [f for f in first.failures if f.column == "account"]
        accepted_blank = len(no_account - {number for number, _, _ in misspelt})
        assert service.count("opportunity", filter={"field": "customer", "op": "is_blank"})[0] == accepted_blank

        again = import_maven_pipeline(service, MAVEN, value_map={"product": {"GTXPro": "GTX Pro"}})
        assert again.failures == []
        assert (again.created, again.skipped) == (1480, 8800 - 1480)
        assert first.created + again.created == 8800
        assert service.count("opportunity")[0] == 8800
        assert service.count("opportunity", filter={"field": "customer", "op": "is_blank"})[0] == len(no_account)
        agents = service.list("sales_agent", limit=100, fields=["won_amount"])["records"]
        assert sum(agent["won_amount"] for agent in agents) == Decimal(10_005_534)


    def test_the_sector_typo_is_reported_with_its_rows_and_fixed_on_a_rerun(self, service: RecordService) -> None:
        accounts = rows("accounts.csv")
        typo = {number for number, row in accounts if row["sector"] == "technolgy"}
        refused = {row["account"] for number, row in accounts if number in typo}
        assert len(typo) == 12

        first = import_maven_reference(service, MAVEN, fix_spelling=False)
        customers = first["customer"]
        assert [(f.row_number, f.column, f.value) for f in customers.failures] == [
            (number, "sector", "technolgy") for number in sorted(typo)]
        assert customers.failures[0].message.en.startswith("\"technolgy\" is not an option")
        assert (customers.created, customers.failed) == (85 - 12, 12)
        # The parent pass names what it could not link: accounts that were not
        # created, and parents that were not.
        expected = []
        for number, row in accounts:
            if row["subsidiary_of"] in refused:
                expected.append((number, "subsidiary_of", row["subsidiary_of"]))
            if row["account"] in refused:
                expected.append((number, "account", row["account"]))
        parents = first["customer_parents"]
        assert sorted((f.row_number, f.column, f.value) for f in parents.failures) == sorted(expected)

        again = import_maven_reference(service, MAVEN, fix_spelling=True)
        assert (again["customer"].created, again["customer"].skipped, again["customer"].failures) == (12, 73, [])
        assert again["customer_parents"].failures == []
        assert service.count("customer")[0] == 85
        assert service.count("customer", filter={"field": "industry", "op": "eq", "value": "technology"})[0] == 12
        assert service.count("customer", filter={"field": "subsidiary_of", "op": "not_blank"})[0] == 15


@pytest.mark.parametrize("bare_database", ["sqlite"], indirect=True)
class TestOnSQLite(MavenImport):
    pass


@pytest.mark.parametrize("bare_database", ["postgresql"], indirect=True)
class TestOnPostgreSQL(MavenImport):
    pass
