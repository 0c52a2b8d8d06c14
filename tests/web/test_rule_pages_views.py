"""The rule pages without a browser (on both databases): who may open them,
escaping, the switch and retry posts, and the record page's manual run
refused to a reader who may not update the record."""

from __future__ import annotations

from typing import Any

from engine.org.service import OrgService
from tests.api.conftest import World
from tests.api.test_rules import shop  # noqa: F401 (fixture)


def _html(world: World, token: str | None = None) -> dict[str, str]:
    return world.auth(token, Accept="text/html", **{"Accept-Language": "en"})


def _get(world: World, url: str, token: str | None = None) -> Any:
    return world.client.get(url, headers=_html(world, token))


def _post(world: World, url: str, data: dict[str, Any] | None = None, token: str | None = None) -> Any:
    return world.client.post(url, headers=_html(world, token), data=data or {})


def test_managers_only_and_the_switch_and_retry_posts(shop: World) -> None:  # noqa: F811
    user = shop.people.user_token
    for url in ("/admin/rules", "/admin/rules/shop/flag_big", "/admin/rule-runs?app=shop&status=failed"):
        assert _get(shop, url).status_code == 200, url
        assert _get(shop, url, user).status_code == 403, url
    assert _get(shop, "/admin/rules/shop/nope").status_code == 404
    assert _post(shop, "/admin/rules/shop/flag_big/enabled", {"enabled": "0"}, user).status_code == 403
    off = _post(shop, "/admin/rules/shop/flag_big/enabled", {"enabled": "0", "back": "rule"})
    assert off.status_code == 303 and off.headers["Location"].endswith("/admin/rules/shop/flag_big")
    page = _get(shop, "/admin/rules").get_data(as_text=True)
    assert 'class="rule-off"' in page and 'aria-checked="false"' in page
    created = shop.client.post("/api/v1/apps/shop/forms/deal/records", headers=shop.auth(),
                               json={"name": "<script>alert(1)</script>", "amount": 5})
    deal = created.get_json()
    shop.client.patch(f"/api/v1/apps/shop/forms/deal/records/{deal['id']}", json={"stage": "lost"},
                      headers={**shop.auth(), "If-Match": f'"{deal["version"]}"'})
    log = _get(shop, "/admin/rules/shop/fragile?status=failed").get_data(as_text=True)
    assert "#DIV/0!" in log and "<script>alert(1)</script>" not in log
    run_id = int(log.split('id="run-')[1].split('"')[0])
    retried = _post(shop, f"/admin/rules/shop/runs/{run_id}/retry")
    assert retried.status_code == 303 and "/admin/rules/shop/fragile#run-" in retried.headers["Location"]
    assert _post(shop, f"/admin/rules/shop/runs/{run_id}/retry", token=user).status_code == 403
    assert _post(shop, "/admin/rules/shop/runs/99999999999/retry").status_code == 404


def test_the_record_page_buttons_and_a_refused_manual_run(shop: World) -> None:  # noqa: F811
    created = shop.client.post("/api/v1/apps/shop/forms/deal/records", headers=shop.auth(),
                               json={"name": "Manual", "amount": 5}).get_json()
    url = f"/a/shop/deal/{created['id']}"
    assert 'data-open-dialog="rule-dialog-close"' in _get(shop, url).get_data(as_text=True)
    org = OrgService(shop.database)
    org.create_role("reader", "Reader", {"deal": {"actions": ["read"]}}, app="shop")
    org.assign_role("reader", shop.people.user_id)
    user = shop.people.user_token
    page = _get(shop, url, user).get_data(as_text=True)
    assert "rule-dialog-close" not in page  # no button for who may not update it
    refused = _post(shop, f"{url}/rules/close/run", token=user)
    assert refused.status_code == 303
    assert shop.client.get(f"/api/v1/apps/shop/forms/deal/records/{created['id']}",
                           headers=shop.auth()).get_json()["stage"] is None
    assert _post(shop, f"/a/shop/customer/{created['id']}/rules/close/run").status_code == 404  # another form
    ran = _post(shop, f"{url}/rules/close/run")
    assert ran.status_code == 303 and ran.headers["Location"].endswith(f"{url}#rules")
    after = _get(shop, url).get_data(as_text=True)
    assert 'id="rules"' in after and "Close the deal" in after
