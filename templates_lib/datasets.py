"""Sample data sets loaded into templates through the ordinary import path.

``import_maven_crm`` loads the maven-crm sample (Maven Analytics' "CRM +
Sales + Opportunities", kept as found, typos included) into an installed
CRM app with ``engine.records.importing.import_file``, the same code a user's
import runs, using the mapping of docs/crm.md. Every step is keyed
(``on_duplicate="skip"``), so running it again imports only what is missing:
that is how a user fixes the rows an import reported and loads the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from engine.records.import_report import ImportReport
from engine.records.importing import IMPORTER, import_file
from engine.records.service import Actor, RecordService

# The sample's misspellings, and what they mean (docs/crm.md).
MAVEN_FIXES: dict[str, dict[str, dict[str, str]]] = {
    "customer": {"industry": {"technolgy": "technology"}},
    "opportunity": {"product": {"GTXPro": "GTX Pro"}},
}
def find_dataset(name: str) -> Path:
    """The folder of a shared public data set (``maven-crm``): from
    ``QIQIAO_DATASETS`` if set, else ``shared/datasets`` beside the checkout
    (``../shared/datasets``) or at ``/work/shared/datasets``. A missing data
    set is an error that says where it was looked for."""
    candidates = []
    if os.environ.get("QIQIAO_DATASETS"):
        candidates.append(Path(os.environ["QIQIAO_DATASETS"]) / name)
    here = Path(__file__).resolve()
    candidates += [parent / "shared" / "datasets" / name for parent in here.parents]
    candidates.append(Path("/work/shared/datasets") / name)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise FileNotFoundError(f"The data set {name!r} was not found (looked in {looked}); "
                            f"set QIQIAO_DATASETS to the folder that holds it")


AGENT_COLUMNS = {"sales_agent": "name"}
PRODUCT_COLUMNS = {"product": "name"}
ACCOUNT_COLUMNS = {"account": "name", "sector": "industry", "subsidiary_of": None}
PARENT_COLUMNS: dict[str, str | None] = {
    "account": "name", "subsidiary_of": "subsidiary_of", "sector": None, "year_established": None,
    "revenue": None, "employees": None, "office_location": None,
}
PIPELINE_COLUMNS = {"account": "customer", "deal_stage": "stage"}


def import_maven_reference(
    service: RecordService, dataset_dir: str | Path, *, fix_spelling: bool = True,
    actor: Actor = IMPORTER,
) -> dict[str, ImportReport]:
    """Sales agents, products and customers; customers in two passes, so a
    subsidiary finds its parent whatever the order of the file.
    Returns the reports by step: ``sales_agent``, ``product``, ``customer``,
    ``customer_parents``."""
    folder = Path(dataset_dir)
    fixes = MAVEN_FIXES if fix_spelling else {}
    reports = {
        "sales_agent": import_file(service, "sales_agent", folder / "sales_teams.csv", actor=actor,
                                   mapping=AGENT_COLUMNS, key_field="name", on_duplicate="skip",
                                   on_error="skip"),
        "product": import_file(service, "product", folder / "products.csv", actor=actor,
                               mapping=PRODUCT_COLUMNS, key_field="name", on_duplicate="skip",
                               on_error="skip"),
        "customer": import_file(service, "customer", folder / "accounts.csv", actor=actor,
                                mapping=ACCOUNT_COLUMNS, value_map=fixes.get("customer", {}),
                                key_field="name", on_duplicate="skip", on_error="skip"),
    }
    # The second pass reads only the parent: accounts without one give
    # nothing but their key and are skipped.
    reports["customer_parents"] = import_file(
        service, "customer", folder / "accounts.csv", actor=actor, mapping=PARENT_COLUMNS,
        key_field="name", on_duplicate="update", on_error="skip")
    return reports


def import_maven_pipeline(
    service: RecordService, dataset_dir: str | Path, *,
    value_map: Mapping[str, Mapping[str, str]] | None = None, actor: Actor = IMPORTER,
) -> ImportReport:
    """The 8,800 opportunities of ``sales_pipeline.csv``, keyed by
    ``opportunity_id``: rows that fail are reported and left out, the rest
    are written; existing opportunities are skipped."""
    return import_file(service, "opportunity", Path(dataset_dir) / "sales_pipeline.csv", actor=actor,
                       mapping=PIPELINE_COLUMNS, value_map=dict(value_map or {}),
                       key_field="opportunity_id", on_duplicate="skip", on_error="skip")


def import_maven_crm(
    service: RecordService, dataset_dir: str | Path, *, fix_spelling: bool = True,
    actor: Actor = IMPORTER,
) -> dict[str, ImportReport]:
    """The whole sample, reference data first. With ``fix_spelling`` the
    sample's misspellings (``technolgy``, ``GTXPro``) are mapped to what they
    mean; without it the rows that have them are reported as failures."""
    reports = import_maven_reference(service, dataset_dir, fix_spelling=fix_spelling, actor=actor)
    fixes = MAVEN_FIXES["opportunity"] if fix_spelling else None
    reports["opportunity"] = import_maven_pipeline(service, dataset_dir, value_map=fixes, actor=actor)
    return reports
