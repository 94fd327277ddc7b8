"""Tokens and scopes on the Customers API, and each account seeing its own customers only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Shop, make_shop
from tests.customers.api.helpers import (
    NOT_FOUND,
    REFERENCE_BODY,
    assert_envelope,
    create,
    fetch,
    total,
)

# -- authentication and scopes --------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer clt_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "clt_no-scheme", "Bearer " + "x" * 500],
    ids=["none", "unknown", "empty", "basic", "no-scheme", "too-long"],
)
@pytest.mark.parametrize(
    "method, path",
    [("GET", "/api/customers/"), ("GET", "/api/customers/favourites/"), ("POST", "/api/customers/"), ("GET", "/api/customers/1/"), ("PUT", "/api/customers/1/"), ("DELETE", "/api/customers/1/")],
)
def test_missing_or_unknown_token_is_401_with_www_authenticate(client, authorization, method, path):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.request(method, path, json={"company": "C"} if method in ("POST", "PUT") else None, headers=headers)

    assert_envelope(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_revoked_token_is_401(client, shop):
    from sqlalchemy import update

    from app.accounts.models import ApiToken
    from app.accounts.tokens import hash_token
    from app.database.engine import session_scope

    assert client.get("/api/customers/", headers=shop.headers).status_code == 200
    with session_scope() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(shop.token)).values(revoked_at=datetime.now(UTC)))

    response = client.get("/api/customers/", headers=shop.headers)

    assert_envelope(response, 401)


def test_read_only_token_can_read_but_not_write(client):
    writer = make_shop()
    customer = create(client, writer, is_favourite=True)
    reader = Shop(writer.id, writer.name, make_token(writer.id, ("customers:read",)))

    assert client.get("/api/customers/", headers=reader.headers).json()["total"] == 1
    assert client.get("/api/customers/favourites/", headers=reader.headers).json()["total"] == 1
    assert client.get(f"/api/customers/{customer['id']}/", headers=reader.headers).json() == customer

    for response in (
        client.post("/api/customers/", json={"company": "C"}, headers=reader.headers),
        client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=reader.headers),
        client.delete(f"/api/customers/{customer['id']}/", headers=reader.headers),
    ):
        assert_envelope(response, 403)
    assert client.get("/api/customers/", headers=reader.headers).json() == {"total": 1, "data": [customer]}


def test_make_shop_with_read_scope_cannot_post_put_or_delete(client):
    reader = make_shop(scopes=("customers:read",))

    assert client.get("/api/customers/", headers=reader.headers).status_code == 200
    assert_envelope(client.post("/api/customers/", json={"company": "C"}, headers=reader.headers), 403)
    assert_envelope(client.put("/api/customers/1/", json={"note": "x"}, headers=reader.headers), 403)
    assert_envelope(client.delete("/api/customers/1/", headers=reader.headers), 403)


@pytest.mark.parametrize(
    "scope, allowed",
    [
        ("customers:read", {"GET"}),
        ("customers:create", {"POST"}),
        ("customers:update", {"PUT"}),
        ("customers:delete", {"DELETE"}),
        ("customers", {"GET", "POST", "PUT", "DELETE"}),
    ],
)
def test_each_fine_grained_scope_grants_its_own_action_only(client, scope, allowed):
    owner = make_shop()
    customer = create(client, owner)
    token = Shop(owner.id, owner.name, make_token(owner.id, (scope,)))

    statuses = {
        "GET": client.get(f"/api/customers/{customer['id']}/", headers=token.headers).status_code,
        "POST": client.post("/api/customers/", json={"company": "C"}, headers=token.headers).status_code,
        "PUT": client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=token.headers).status_code,
        "DELETE": client.delete(f"/api/customers/{customer['id']}/", headers=token.headers).status_code,
    }

    assert {m for m, s in statuses.items() if s != 403} == allowed
    assert all(s < 400 for m, s in statuses.items() if m in allowed), statuses


def make_token(account_id: int, scopes) -> str:
    from app.accounts import tokens
    from app.database.engine import session_scope

    with session_scope() as session:
        return tokens.issue(session, account_id, scopes)


def test_another_accounts_customer_is_404_for_get_put_delete_and_stays_unchanged(client, shop, other_shop):
    theirs = create(client, other_shop, REFERENCE_BODY)
    path = f"/api/customers/{theirs['id']}/"

    for response in (
        client.get(path, headers=shop.headers),
        client.put(path, json={"note": "hijacked", "is_vip": False, "shipping_address": []}, headers=shop.headers),
        client.delete(path, headers=shop.headers),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND

    assert fetch(client, other_shop, theirs["id"]) == theirs
    assert total(client, shop) == 0


def test_another_accounts_customer_is_404_even_for_an_invalid_put(client, shop, other_shop):
    theirs = create(client, other_shop)

    response = client.put(f"/api/customers/{theirs['id']}/", json={"email": "not valid"}, headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_lists_hold_only_the_tokens_own_account(client, shop, other_shop):
    ours = create(client, shop, is_favourite=True)
    create(client, other_shop, is_favourite=True)

    assert client.get("/api/customers/", headers=shop.headers).json() == {"total": 1, "data": [ours]}
    assert client.get("/api/customers/favourites/", headers=shop.headers).json() == {"total": 1, "data": [ours]}
