"""What fake values alone get wrong about the CRM's model, per form: each
field's fake value knows its field, not that a pool customer has no owner
or that only a won deal has a close value. ``runtime.demo`` shapes each
fake row with these before it is written."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

CENTS = Decimal("0.01")
LOST_REASONS = ("price", "competitor", "no_budget", "no_decision", "product_fit", "other")


def _customer_in_the_pool_or_owned(row: dict[str, Any], ids: Mapping[str, list[int]], users: list[int],
                                   rng: random.Random) -> None:
    """A customer is either owned or in the public pool, never both (docs/crm.md,
    "The public pool"): a pool customer has no owner, says why it is there and,
    unless it was never assigned, who had it before; the form's rule stamps
    when it entered. Its headquarters is the city of its address, if it has one."""
    row["in_public_pool"] = rng.random() < 0.2
    if row["in_public_pool"]:
        reason = rng.choice(("overdue", "released", "unassigned", "owner_left"))
        row.update(owner=None, pool_reason=reason,
                   previous_owner=None if reason == "unassigned" else row["owner"])
    else:
        row.pop("pool_reason", None)
    address = row.get("address")
    if isinstance(address, Mapping) and address.get("city") and "office_location" in row:
        row["office_location"] = address["city"]


def _lead_converted_or_not(row: dict[str, Any], ids: Mapping[str, list[int]], users: list[int],
                           rng: random.Random) -> None:
    """A lead is converted exactly when its status says so, and a converted lead
    names its customer (the form's rules stamp when); the others name none."""
    customers = ids.get("customer") or []
    converted = row.get("status") == "converted" and bool(customers)
    if row.get("status") == "converted" and not converted:
        row["status"] = "qualified"
    row["converted"] = converted
    if converted:
        row["converted_customer"] = rng.choice(customers)
    else:
        row.pop("converted_customer", None)
        row.pop("converted_contact", None)


def _ticket_resolved_in_hours(row: dict[str, Any], ids: Mapping[str, list[int]], users: list[int],
                              rng: random.Random) -> None:
    """A resolved or closed ticket was resolved hours to a few days after it
    was opened (some within its SLA, some not); an unresolved one has no
    resolution time."""
    opened = row.get("opened_at")
    if row.get("status") in ("resolved", "closed") and isinstance(opened, dt.datetime):
        row["resolved_at"] = opened + dt.timedelta(hours=rng.choice((1, 3, 6, 12, 20, 30, 50, 90)))
    else:
        row.pop("resolved_at", None)


def _product_priced_above_cost(row: dict[str, Any], ids: Mapping[str, list[int]], users: list[int],
                               rng: random.Random) -> None:
    """A product costs 40-80% of its list price (the form refuses a price
    below the cost: a refused row would be made again, and its name be
    taken for nothing)."""
    price = row.get("sales_price")
    if isinstance(price, Decimal) and "cost_price" in row:
        row["cost_price"] = (price * rng.randint(40, 80) / 100).quantize(CENTS)


def _deal_closed_as_its_stage_says(row: dict[str, Any], ids: Mapping[str, list[int]], users: list[int],
                                   rng: random.Random) -> None:
    """Only a won or lost deal has a close date and value: a won one about
    what was expected, a lost one 0 with a reason. A deal still in
    prospecting has not reached the engaging stage."""
    stage = row.get("stage")
    if stage == "prospecting":
        row.pop("engage_date", None)
    if stage not in ("won", "lost"):
        for key in ("close_date", "close_value", "lost_reason"):
            row.pop(key, None)
        return
    if row.get("close_date") is None and row.get("expected_close_on") is not None:
        row["close_date"] = row["expected_close_on"]
    amount = row.get("amount")
    if stage == "won":
        row.pop("lost_reason", None)
        row["close_value"] = ((amount * rng.randint(85, 110) / 100).quantize(CENTS)
                              if isinstance(amount, Decimal) else None)
    else:
        row["close_value"] = Decimal(0)
        row.setdefault("lost_reason", rng.choice(LOST_REASONS))


# Per form: what fake values alone get wrong about the CRM's model.
MODEL_SHAPES: dict[str, Callable[[dict[str, Any], Mapping[str, list[int]], list[int], random.Random], None]] = {
    "customer": _customer_in_the_pool_or_owned,
    "lead": _lead_converted_or_not,
    "service_ticket": _ticket_resolved_in_hours,
    "product": _product_priced_above_cost,
    "opportunity": _deal_closed_as_its_stage_says,
}
