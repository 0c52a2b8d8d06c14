"""The approval pages without a browser (on both databases): the inbox and
its tabs, a task page with its actions, someone else's task (404), an
action already taken (a notice, not an error page), batches, the record
page's panel and its submit / urge / withdraw / comment posts."""

from __future__ import annotations

import io

from tests.api.conftest import World
from tests.api.test_flows_api import contract, submitted, todo
from tests.web.test_rule_pages_views import _get, _html, _post


def test_inbox_task_page_and_acting(world: World) -> None:
    alice = world.people.user_token
    _record, instance = submitted(world, "<script>alert(1)</script> pages")
    inbox = _get(world, "/inbox").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; pages" in inbox and "<script>alert(1)" not in inbox
    assert 'class="tab-count"' in inbox and 'data-open-dialog="batch-approve"' in inbox
    assert 'id="approval-link"' in inbox  # the header's count
    task = todo(world, search="pages")["tasks"][0]
    for box in ("done", "cc", "submitted"):
        assert _get(world, f"/inbox?box={box}&search=x&app=crm").status_code == 200
    more = world.client.get(f"/inbox?box=todo&before={task['id'] + 1}", headers={**_html(world), "HX-Request": "true"})
    rows = more.get_data(as_text=True)  # "load more": the rows only, for htmx to add
    assert f'href="/inbox/{task["id"]}"' in rows and "<html" not in rows
    mine = _get(world, "/inbox?box=submitted", alice).get_data(as_text=True)
    assert "pages" in mine and f'href="/inbox/flows/{instance["id"]}"' in mine  # the instance page, not the record

    assert _get(world, f"/inbox/{task['id']}", alice).status_code == 404
    page = _get(world, f"/inbox/{task['id']}").get_data(as_text=True)
    assert 'name="action" value="approve"' in page and 'data-open-dialog="act-reject"' in page
    assert 'data-open-dialog="act-transfer"' in page and 'name="payment_terms"' in page  # an editable field
    assert 'aria-current="step"' in page and "提交" in page  # the graph's current node, the history

    done = _post(world, f"/inbox/{task['id']}", {"action": "approve", "comment": "fine",
                                                 "payment_terms": "30 days", "version": instance["lock_version"]})
    assert done.status_code == 303 and done.headers["Location"] == "/inbox"
    again = _post(world, f"/inbox/{task['id']}", {"action": "approve"})
    assert again.status_code == 303 and again.headers["Location"] == f"/inbox/{task['id']}"
    shown = _get(world, f"/inbox/{task['id']}").get_data(as_text=True)
    assert 'name="action" value="approve"' not in shown  # done: no buttons any more
    assert "付款条件: — → 30 days" in shown  # the field the manager changed, in the history
    record = world.client.get(f"/api/v1/apps/crm/forms/contract/records/{instance['record_id']}",
                              headers=world.auth()).get_json()
    assert record["flow_status"] == "approved" and record["payment_terms"] == "30 days"


def test_batch_and_the_record_panel(world: World) -> None:
    alice = world.people.user_token
    _first, one = submitted(world, "Batch page one")
    _second, two = submitted(world, "Batch page two")
    ids = [t["id"] for t in todo(world, search="Batch page")["tasks"]]
    assert len(ids) == 2
    none = _post(world, "/inbox/batch", {"action": "approve"})
    assert none.status_code == 303
    batch = world.client.post("/inbox/batch", headers=_html(world), data={"action": "reject", "comment": "no",
                                                                            "task": [str(i) for i in ids]})
    assert batch.status_code == 303
    for instance in (one, two):
        shown = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()
        assert shown["instance"]["status"] == "rejected"

    # The admin submits their own: they approve every step themselves, so it passes by itself.
    record_id = contract(world, "Panel contract")
    url = f"/a/crm/contract/{record_id}"
    page = _get(world, url).get_data(as_text=True)
    assert 'id="approval"' in page and 'data-open-dialog="submit-dialog"' in page and "销售经理审批" in page
    sent = _post(world, f"{url}/submit", {"comment": "go"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#approval")
    page = _get(world, url).get_data(as_text=True)
    assert "已通过" in page and "自动通过" in page and 'data-open-dialog="flow-comment-dialog"' in page
    assert f'href="{url}/edit"' in page  # an approved record is no longer locked
    instance = world.client.get(f"/api/v1/apps/crm/forms/contract/records/{record_id}/flows",
                                headers=world.auth()).get_json()["instances"][0]
    assert _post(world, f"{url}/flows/{instance['id']}/comment", {"comment": "a note"}).status_code == 303
    history = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()
    assert "a note" in [e["comment"] for e in history["history"]]

    # alice submits hers (through the API: she may not open contracts); the admin sees it running.
    record_id, instance = submitted(world, "Alice's panel contract")
    url = f"/a/crm/contract/{record_id}"
    page = _get(world, url).get_data(as_text=True)
    assert "审批中" in page and 'data-open-dialog="submit-dialog"' not in page
    assert 'data-open-dialog="flow-withdraw-dialog"' not in page  # only the submitter withdraws
    # Locked while it runs: no edit button; its history says the flow moved it, in words.
    assert f'href="{url}/edit"' not in page
    assert "更新了审批状态" in page and "（由审批流程「合同审批」）" in page and "<ins>审批中</ins>" in page
    refused = _post(world, f"{url}/flows/{instance['id']}/withdraw")
    assert refused.status_code == 303 and refused.headers["Location"].endswith("#approval")
    still = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()
    assert still["instance"]["status"] == "running"
    assert _get(world, url, alice).status_code in (403, 404)


def test_transfer_and_return_from_the_task_page(world: World) -> None:
    alice = world.people.user_token
    _record, instance = submitted(world, "Transfer page")
    task = todo(world, search="Transfer page")["tasks"][0]
    page = _get(world, f"/inbox/{task['id']}").get_data(as_text=True)
    assert 'id="act-transfer-to"' in page and 'id="act-return-node"' in page
    moved = _post(world, f"/inbox/{task['id']}", {"action": "transfer", "to": str(world.people.user_id),
                                                  "version": instance["lock_version"]})
    assert moved.status_code == 303 and moved.headers["Location"] == "/inbox"
    hers = todo(world, alice, search="Transfer page")["tasks"]
    assert [t["node"] for t in hers] == ["manager"]
    # alice may not read contracts, yet the task shows her the record as the flow does.
    shown = _get(world, f"/inbox/{hers[0]['id']}", alice).get_data(as_text=True)
    assert "Transfer page" in shown and 'name="action" value="approve"' in shown
    back = _post(world, f"/inbox/{hers[0]['id']}", {"action": "return", "node": "start", "comment": "fix it"}, alice)
    assert back.status_code == 303 and back.headers["Location"] == "/inbox"
    state = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()
    assert state["instance"]["status"] == "running" and "return" in [e["action"] for e in state["history"]]


def test_instance_page_people_picker_and_attachments(world: World) -> None:
    alice = world.people.user_token
    record_id, instance = submitted(world, "Instance page contract")
    url = f"/inbox/flows/{instance['id']}"
    # alice submitted it but may not read contracts: the flow's own page shows her the record as the flow does.
    hers = _get(world, url, alice)
    page = hers.get_data(as_text=True)
    assert hers.status_code == 200 and "Instance page contract" in page and 'aria-current="step"' in page
    assert f'href="/a/crm/contract/{record_id}"' not in page and 'data-open-dialog="flow-withdraw-dialog"' in page
    assert f'action="{url}/comment"' in page and 'type="file" name="files"' in page
    assert f'href="/a/crm/contract/{record_id}"' in _get(world, url).get_data(as_text=True)  # the admin may
    assert _get(world, "/inbox/flows/999999", alice).status_code == 404

    # A comment with a file: stored as the form's uploads are, shown as a link every participant may follow.
    sent = world.client.post(f"{url}/comment", headers=_html(world, alice), content_type="multipart/form-data",
                             data={"comment": "see the scan", "files": (io.BytesIO(b"scan text"), "scan.txt")})
    assert sent.status_code == 303 and sent.headers["Location"] == url
    history = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()["history"]
    files = next(e["files"] for e in history if e["comment"] == "see the scan")
    assert len(files) == 1
    assert f'href="{url}/files/{files[0]}"' in _get(world, url, alice).get_data(as_text=True)
    download = _get(world, f"{url}/files/{files[0]}")  # the admin did not upload it, and still gets it here
    assert download.status_code == 200 and download.data == b"scan text"
    assert _get(world, f"{url}/files/not-{files[0]}").status_code == 404
    assert _post(world, f"{url}/comment", {"comment": ""}, alice).status_code == 303  # a notice, nothing written

    # The approver's dialogs: transfer and add-sign search the people; approving carries files too.
    task = todo(world, search="Instance page")["tasks"][0]
    page = _get(world, f"/inbox/{task['id']}").get_data(as_text=True)
    assert 'id="act-transfer-to" name="to" required data-picker="/inbox/people"' in page
    assert 'id="task-files" type="file" name="files"' in page
    found = world.client.get("/inbox/people?q=ADM", headers=world.auth()).get_json()["options"]
    assert [o["value"] for o in found] == [world.people.admin_id]
    done = world.client.post(f"/inbox/{task['id']}", headers=_html(world), content_type="multipart/form-data",
                             data={"action": "approve", "comment": "ok", "payment_terms": "net 30",
                                   "files": (io.BytesIO(b"signed"), "signed.txt")})
    assert done.status_code == 303 and done.headers["Location"] == "/inbox"
    history = world.client.get(f"/api/v1/flows/instances/{instance['id']}", headers=world.auth()).get_json()["history"]
    assert [len(e["files"]) for e in history if e["action"] == "approve"] == [1]
    bad = world.client.post(f"/inbox/{task['id']}", headers=_html(world), content_type="multipart/form-data",
                            data={"action": "comment", "files": (io.BytesIO(b""), "empty.txt")})
    assert bad.status_code == 303  # an empty file is refused as a notice, not a 500
