"""Personal list views (engine/records/personal_views.py): saved per user,
checked as saved, private to their owner."""

from __future__ import annotations

import pytest

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.records import RecordService
from engine.records.filters import QueryError
from engine.records.personal_views import PersonalViews
from tests.records.test_permissions import ALICE, BOB, actor, role, service  # noqa: F401 (fixture)

WON = {"field": "stage", "op": "eq", "value": "won"}


def test_a_view_is_saved_listed_used_and_deleted_by_its_owner_only(service: RecordService) -> None:  # noqa: F811
    views = PersonalViews(service)
    alice = actor(ALICE, admin=True)
    saved = views.save("deal", "  Won deals ", columns=["title", "amount", "owner"], filter=WON,
                       sort=["-amount"], actor=alice)
    assert (saved.name, saved.columns, saved.filter, saved.sort) == (
        "Won deals", ("title", "amount", "owner"), WON, ("-amount",))
    assert [v.name for v in views.list(ALICE, "deal")] == ["Won deals"]
    assert views.list(BOB, "deal") == []
    with pytest.raises(NotFoundError):  # someone else's view is not found, not forbidden
        views.get(BOB, "deal", saved.id)
    with pytest.raises(NotFoundError):
        views.delete(BOB, "deal", saved.id)
    with pytest.raises(ConflictError):
        views.save("deal", "Won deals", actor=alice)
    assert views.get(ALICE, "deal", saved.id) == saved
    views.delete(ALICE, "deal", saved.id)
    assert views.list(ALICE, "deal") == []


def test_a_view_that_cannot_be_used_is_not_saved(service: RecordService) -> None:  # noqa: F811
    views = PersonalViews(service)
    alice = actor(ALICE, admin=True)
    with pytest.raises(ValidationError):
        views.save("deal", "", actor=alice)
    with pytest.raises(ValidationError) as bad_column:
        views.save("deal", "x", columns=["nope"], actor=alice)
    assert "columns[0]" in bad_column.value.field_errors
    with pytest.raises(QueryError):
        views.save("deal", "x", filter={"field": "amount", "op": "contains", "value": "1"}, actor=alice)
    with pytest.raises(QueryError):
        views.save("deal", "x", sort=["nope"], actor=alice)
    # A field the reader's role hides may not be filtered (nor sorted) by.
    reader = actor(ALICE, role("r", actions=["read"], read="own", fields={"secret_note": "hidden"}))
    with pytest.raises(PermissionDenied):
        views.save("deal", "x", filter={"field": "secret_note", "op": "contains", "value": "n"}, actor=reader)
    with pytest.raises(PermissionDenied):
        views.save("deal", "x", sort=["-secret_note"], actor=reader)
    assert views.list(ALICE, "deal") == []
