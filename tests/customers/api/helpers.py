"""What the tests of the Customers API share: reference bodies, the error envelope, and
short ways to create, read, count and seed customers."""

from __future__ import annotations

import os

from tests.conftest import Shop

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


SERIALIZER_ERROR = {"description": "Serialization error", "key": "common.serializer_error"}
NOT_FOUND = {"error": {"fields": {}, "description": None, "key": "common.unknown"}}
ADDRESS_KEYS = {"id", "title", "first_name", "last_name", "company", "address1", "address2", "zipcode", "city", "state", "country"}
PHONE_ENTRY_KEYS = {"id", "country_code", "type", "national_number"}

# The reference's own POST sample (the POST section of the Inventorum documentation), brackets restored.
REFERENCE_BODY = {
    "billing_address": {
        "address1": "Voltastrasse",
        "address2": "5",
        "city": "Berlin",
        "company": "Inventorum",
        "country": "DE",
        "first_name": "Ana",
        "last_name": "Schmidt",
        "state": "Berlin",
        "title": "Mrs.",
        "zipcode": "61-222",
    },
    "birthday": "1985-04-30T10:49:52Z",
    "company": "Inventorum",
    "email": "",
    "email_marketing_agreed": True,
    "first_name": "Ana",
    "is_b2b": True,
    "is_favourite": True,
    "is_vip": True,
    "last_name": "Schmidt",
    "note": "Some additional data",
    "phone_number": "978437427278",
    "shipping_address": [
        {
            "address1": "Berlinerstrasse",
            "address2": "10",
            "city": "Bremen",
            "company": "",
            "country": "DE",
            "first_name": "John",
            "last_name": "Schmidt",
            "state": "Bremen",
            "title": "Mr.",
            "zipcode": "44-444",
        }
    ],
    "title": "Mrs.",
    "tax_number": "DE288362273",
    "channel": 1,
}


def _headers(shop: Shop, version: str | None = None) -> dict[str, str]:
    headers = dict(shop.headers)
    if version is not None:
        headers["X-Api-Version"] = version
    return headers


def create(client, shop: Shop, body: dict | None = None, version: str | None = None, **fields) -> dict:
    payload = {**(body or {"first_name": "Erika", "last_name": "Mustermann"}), **fields}
    response = client.post("/api/customers/", json=payload, headers=_headers(shop, version))
    assert response.status_code == 201, response.text
    return response.json()


def fetch(client, shop: Shop, customer_id: int, version: str | None = None) -> dict:
    response = client.get(f"/api/customers/{customer_id}/", headers=_headers(shop, version))
    assert response.status_code == 200, response.text
    return response.json()


def total(client, shop: Shop) -> int:
    response = client.get("/api/customers/", headers=shop.headers)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def field_errors(response) -> dict[str, list[str]]:
    """The fields of a validation error, after checking the envelope around them."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"fields", "description", "key"}
    assert {k: error[k] for k in ("description", "key")} == SERIALIZER_ERROR
    assert all(isinstance(m, list) and m and all(isinstance(s, str) for s in m) for m in error["fields"].values())
    return error["fields"]


def assert_envelope(response, status: int, key: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"fields", "description", "key"}
    assert isinstance(error["fields"], dict)
    assert error["description"] is None or isinstance(error["description"], str)
    assert isinstance(error["key"], str) and error["key"]
    if key is not None:
        assert error["key"] == key
    return error


def seed(shop: Shop, count: int, favourites_every: int = 0) -> None:
    """Write ``count`` customers for the shop directly through the service layer."""
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        for n in range(count):
            service.create(
                session,
                shop.id,
                {"first_name": f"Seed{n:03d}", "last_name": "Kunde", "is_favourite": bool(favourites_every and n % favourites_every == 0)},
            )
