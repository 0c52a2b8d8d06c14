"""Probe 9 (part) and the upload endpoint: a file value may name only a file
the storage holds (not ``../../etc/passwd``, not a PDF called an image), an
upload is checked by type and size, and a file is downloaded only by its
uploader or by someone who may read a record holding it — on both databases."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

from engine.org.service import OrgService
from tests.security.auth_world import World, auth_world

__all__ = ["auth_world"]

PRODUCTS = "/api/v1/apps/crm/forms/product/records"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def upload(client: FlaskClient, headers: dict[str, str], content: bytes, name: str,
           content_type: str = "application/octet-stream") -> Any:
    return client.post("/api/v1/files", data={"file": (io.BytesIO(content), name, content_type)},
                       headers=headers, content_type="multipart/form-data")


def product_with_image(world: World, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A product (made by the admin) holding one uploaded picture: (product, file)."""
    meta = upload(world.client, world.auth(), PNG, f"{name.lower()}.png").get_json()
    product = world.client.post(PRODUCTS, json={"name": name, "sales_price": "1", "images": [meta]},
                                headers=world.auth()).get_json()
    return product, meta


def _products(world: World) -> int:
    with world.database.reading() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM crm_product").scalar_one())


def test_upload_attach_and_download(auth_world: World) -> None:
    client, admin = auth_world.client, auth_world.auth()
    uploaded = upload(client, admin, PNG, "../../photo.png", "text/html")
    assert uploaded.status_code == 201
    meta = uploaded.get_json()
    assert meta["name"] == "photo.png" and meta["content_type"] == "image/png" and meta["size"] == len(PNG)
    again = upload(client, admin, PNG, "same.png").get_json()
    assert again["id"] != meta["id"] and again["sha256"] == meta["sha256"]  # one content, two files
    # The client's claims about a stored file are replaced by the storage's.
    created = client.post(PRODUCTS, json={"name": "Camera", "sales_price": "10", "images": [
        {"id": meta["id"], "name": "renamed.png", "size": 1, "content_type": "image/gif"}]}, headers=admin)
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    assert product["images"] == [{**meta}]
    download = client.get(f"{PRODUCTS}/{product['id']}/files/{meta['id']}", headers=admin)
    assert download.status_code == 200 and download.data == PNG
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    own = client.get(f"/api/v1/files/{meta['id']}", headers=admin)
    assert own.status_code == 200 and own.data == PNG


def test_only_stored_files_can_be_referenced(auth_world: World) -> None:
    client, admin = auth_world.client, auth_world.auth(**{"Accept-Language": "en"})
    for forged in ({"id": "../../etc/passwd", "name": "passwd.png", "size": 10, "content_type": "image/png"},
                   {"id": "00000000-0000-4000-8000-000000000000", "name": "x.png", "size": 1}):
        response = client.post(PRODUCTS, json={"name": "Forged", "sales_price": "1", "images": [forged]},
                               headers=admin)
        assert response.status_code == 400, response.get_json()
        assert "not in the file storage" in response.get_json()["error"]["details"]["images"][0]
    pdf = upload(client, admin, PDF, "brochure.pdf").get_json()
    assert pdf["content_type"] == "application/pdf"
    disguised = client.post(PRODUCTS, json={"name": "Disguised", "sales_price": "1", "images": [
        {**pdf, "name": "brochure.png", "content_type": "image/png"}]}, headers=admin)
    assert disguised.status_code == 400 and "images" in disguised.get_json()["error"]["details"]
    batch = client.post(f"{PRODUCTS}/bulk", json={"records": [
        {"name": "Bulk", "sales_price": "1", "images": [{"id": "../x", "name": "x.png"}]}]}, headers=admin)
    assert batch.status_code == 400
    assert _products(auth_world) == 0


def test_uploads_are_checked_by_type_and_size(auth_world: World) -> None:
    client, admin = auth_world.client, auth_world.auth()
    assert upload(client, admin, b"", "empty.txt").status_code == 400
    assert upload(client, admin, b"MZ\x90\x00" + b"\x00" * 60, "report.pdf").status_code == 400
    mismatch = upload(client, admin, PNG, "invoice.pdf")
    assert mismatch.status_code == 400 and "file" in mismatch.get_json()["error"]["details"]
    assert upload(client, admin, b"plain text", "notes.bin", "image/png").get_json()["content_type"] \
        == "application/octet-stream"  # the client's word never makes an image
    small = auth_world.app
    small.extensions["qiqiao"].files.max_size = 100
    too_big = upload(client, admin, b"x" * 200, "big.txt")
    assert too_big.status_code == 400 and "file" in too_big.get_json()["error"]["details"]
    no_file = client.post("/api/v1/files", data={"other": "x"}, headers=admin, content_type="multipart/form-data")
    assert no_file.status_code == 400


def test_files_are_downloaded_only_by_who_may_see_them(auth_world: World) -> None:
    client, admin = auth_world.client, auth_world.auth()
    alice = auth_world.auth(auth_world.people.user_token)
    product, meta = product_with_image(auth_world, "Secret")
    # Alice holds no role that reads products: neither way leads to the file.
    assert client.get(f"/api/v1/files/{meta['id']}", headers=alice).status_code == 404
    assert client.get(f"{PRODUCTS}/{product['id']}/files/{meta['id']}", headers=alice).status_code in (403, 404)
    org = OrgService(auth_world.database)
    org.create_role("viewer", "Viewer", app="crm", grants={"product": {"actions": ["read"], "read": "all"}})
    org.assign_role("crm:viewer", auth_world.people.user_id)
    auth_world.app.extensions["qiqiao"].identities.forget_user()
    assert client.get(f"{PRODUCTS}/{product['id']}/files/{meta['id']}", headers=alice).status_code == 200
    # A file of another record, asked for through this one, is not there.
    other = upload(client, admin, PNG, "other.png").get_json()
    assert client.get(f"{PRODUCTS}/{product['id']}/files/{other['id']}", headers=alice).status_code == 404
    assert client.get(f"/api/v1/files/{other['id']}", headers=alice).status_code == 404
    mine = upload(client, alice, PDF, "mine.pdf").get_json()
    download = client.get(f"/api/v1/files/{mine['id']}", headers=alice)
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert "mine.pdf" in download.headers["Content-Disposition"]


def test_a_file_in_a_hidden_field_is_not_downloaded(auth_world: World) -> None:
    client, alice = auth_world.client, auth_world.auth(auth_world.people.user_token)
    product, meta = product_with_image(auth_world, "Prototype")
    org = OrgService(auth_world.database)
    org.create_role("viewer", "Viewer", app="crm", grants={
        "product": {"actions": ["read"], "read": "all", "fields": {"images": "hidden"}}})
    org.assign_role("crm:viewer", auth_world.people.user_id)
    assert client.get(f"{PRODUCTS}/{product['id']}", headers=alice).status_code == 200
    assert client.get(f"{PRODUCTS}/{product['id']}/files/{meta['id']}", headers=alice).status_code == 404
