"""OAuth2 apps and tokens: the token endpoint, rotation of refresh tokens, reuse
detection, revocation that takes effect at once, and storage as hashes only."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from tests.fixtures.security import App, assert_envelope, get_token, make_app

TOKEN_URL = "/api/auth/token/"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_client_credentials_answers_the_token_document(client, account_a):
    app = make_app(account_a.id)

    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=app.basic)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 36000
    assert body["scope"] == "customers"
    assert body["access_token"] != body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"


def test_the_path_without_trailing_slash_answers_the_same(client, account_a):
    app = make_app(account_a.id)

    response = client.post("/api/auth/token", data={"grant_type": "client_credentials"}, headers=app.basic)

    assert response.status_code == 200


def test_an_access_token_works_on_the_customers_api_of_its_account(client, account_a):
    app = make_app(account_a.id)
    token = get_token(client, app)["access_token"]

    created = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=bearer(token))
    listed = client.get("/api/customers/", headers=bearer(token))

    assert created.status_code == 201
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["data"]] == [created.json()["id"]]


def test_credentials_in_the_body_and_a_json_body_are_accepted(client, account_a):
    app = make_app(account_a.id)

    form = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret})
    as_json = client.post(TOKEN_URL, json={"grant_type": "client_credentials"}, headers=app.basic)

    assert form.status_code == 200
    assert as_json.status_code == 200


def test_scopes_of_a_token_are_enforced(client, account_a):
    app = make_app(account_a.id, scopes=("customers:read",))
    token = get_token(client, app)["access_token"]

    assert client.get("/api/customers/", headers=bearer(token)).status_code == 200
    refused = client.post("/api/customers/", json={"first_name": "A", "last_name": "B"}, headers=bearer(token))
    assert_envelope(refused, 403, "auth.insufficient_scope")


def test_a_token_may_ask_for_fewer_scopes_but_not_more(client, account_a):
    app = make_app(account_a.id, scopes=("customers:read", "customers:create"))

    fewer = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": "customers:read"}, headers=app.basic)
    more = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": "customers:delete"}, headers=app.basic)

    assert fewer.status_code == 200 and fewer.json()["scope"] == "customers:read"
    assert_envelope(more, 400, "auth.invalid_scope")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"clc_nobody:cls_nothing").decode()},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon-here").decode()},
        {"Authorization": "Bearer something"},
    ],
    ids=["none", "unknown", "bad-base64", "no-colon", "bearer"],
)
def test_bad_client_credentials_are_401_invalid_client(client, headers):
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=headers)

    assert_envelope(response, 401, "auth.invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("data", [{}, {"grant_type": "client_credentials"}, {"grant_type": "refresh_token", "refresh_token": "x"}])
def test_no_client_authentication_at_all_is_401_invalid_client(client, data):
    """RFC 6749 §5.2: no client authentication included is invalid_client, whatever else is missing."""
    response = client.post(TOKEN_URL, data=data)

    assert_envelope(response, 401, "auth.invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_a_wrong_secret_is_401_invalid_client(client, account_a):
    app = make_app(account_a.id)
    wrong = App(app.id, app.account_id, app.client_id, app.client_secret[:-2] + "xx")

    assert_envelope(client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=wrong.basic), 401, "auth.invalid_client")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "auth.unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "auth.unsupported_grant_type"),
        ({}, "auth.invalid_request"),
        ({"grant_type": "refresh_token"}, "auth.invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "clr_made-up"}, "auth.invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "x" * 5000}, "auth.invalid_grant"),
    ],
)
def test_bad_grants_answer_400_with_the_oauth_error_as_key(client, account_a, data, key):
    app = make_app(account_a.id)

    assert_envelope(client.post(TOKEN_URL, data=data, headers=app.basic), 400, key)


def test_a_repeated_parameter_is_refused(client, account_a):
    app = make_app(account_a.id)

    response = client.post(
        TOKEN_URL,
        content=b"grant_type=client_credentials&grant_type=refresh_token",
        headers={**app.basic, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_envelope(response, 400, "auth.invalid_request")


def test_refresh_rotates_and_the_old_refresh_token_is_refused(client, account_a):
    app = make_app(account_a.id)
    first = get_token(client, app)

    second = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, headers=app.basic)

    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["access_token"] != first["access_token"]
    assert pair["expires_in"] == 36000 and pair["token_type"] == "Bearer" and pair["scope"] == "customers"
    assert client.get("/api/customers/", headers=bearer(pair["access_token"])).status_code == 200

    again = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, headers=app.basic)
    assert_envelope(again, 400, "auth.invalid_grant")


def test_reusing_a_refresh_token_revokes_its_whole_family_at_once(client, account_a):
    app = make_app(account_a.id)
    first = get_token(client, app)
    second = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, headers=app.basic).json()
    other_grant = get_token(client, app)

    reuse = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, headers=app.basic)

    assert_envelope(reuse, 400, "auth.invalid_grant")
    # Every token of that grant is dead: the newest access token and refresh token too.
    for token in (first["access_token"], second["access_token"]):
        assert_envelope(client.get("/api/customers/", headers=bearer(token)), 401, "auth.not_authenticated")
    dead = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, headers=app.basic)
    assert_envelope(dead, 400, "auth.invalid_grant")
    # Another grant of the same app is untouched.
    assert client.get("/api/customers/", headers=bearer(other_grant["access_token"])).status_code == 200


def test_a_refresh_token_works_only_for_the_app_it_was_issued_to(client, account_a):
    mine, other = make_app(account_a.id), make_app(account_a.id, name="Other")
    refresh = get_token(client, mine)["refresh_token"]

    stolen = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": refresh}, headers=other.basic)

    assert_envelope(stolen, 400, "auth.invalid_grant")
    # ... and the rightful app can still use it.
    assert client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": refresh}, headers=mine.basic).status_code == 200


def test_an_access_token_is_not_a_refresh_token_and_back(client, account_a):
    app = make_app(account_a.id)
    pair = get_token(client, app)

    as_refresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": pair["access_token"]}, headers=app.basic)

    assert_envelope(as_refresh, 400, "auth.invalid_grant")
    assert_envelope(client.get("/api/customers/", headers=bearer(pair["refresh_token"])), 401)


def test_an_expired_access_token_fails(client, account_a):
    from app.database.base import utcnow
    from app.database.engine import session_scope
    from app.integrations.models import OAuthToken

    app = make_app(account_a.id)
    token = get_token(client, app)["access_token"]
    with session_scope() as session:
        for row in session.scalars(select(OAuthToken).where(OAuthToken.app_id == app.id, OAuthToken.kind == "access")):
            row.expires_at = utcnow()

    assert_envelope(client.get("/api/customers/", headers=bearer(token)), 401, "auth.not_authenticated")


def test_revoking_an_app_fails_its_tokens_and_credentials_at_once(client, account_a, signed_in):
    from tests.fixtures.security import csrf_of

    app = make_app(account_a.id)
    pair = get_token(client, app)
    admin = signed_in(account_a.admin_email)

    revoked = admin.post(f"/integrations/{app.id}/revoke", data={"_csrf_token": csrf_of(admin)}, follow_redirects=False)

    assert revoked.status_code == 303
    assert_envelope(client.get("/api/customers/", headers=bearer(pair["access_token"])), 401, "auth.not_authenticated")
    assert_envelope(client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=app.basic), 401, "auth.invalid_client")
    refresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}, headers=app.basic)
    assert_envelope(refresh, 401, "auth.invalid_client")


def test_revoking_a_grant_from_the_page_fails_its_tokens_at_once(client, account_a, signed_in):
    from app.accounts.tokens import hash_token
    from app.database.engine import session_scope
    from app.integrations.models import OAuthToken
    from tests.fixtures.security import csrf_of

    app = make_app(account_a.id)
    doomed, kept = get_token(client, app), get_token(client, app)
    with session_scope() as session:
        family = session.scalar(select(OAuthToken.family).where(OAuthToken.token_hash == hash_token(doomed["access_token"])))
    admin = signed_in(account_a.admin_email)
    page = admin.get(f"/integrations/{app.id}")
    assert page.status_code == 200
    # the app's revoke control and one per grant (each a link to its confirmation, enhanced by htmx)
    assert len(set(re.findall(r"/integrations/\d+(?:/grants/[\w-]+)?/revoke", page.text))) == 3

    revoked = admin.post(f"/integrations/{app.id}/grants/{family}/revoke", data={"_csrf_token": csrf_of(admin)}, follow_redirects=False)

    assert revoked.status_code == 303
    assert_envelope(client.get("/api/customers/", headers=bearer(doomed["access_token"])), 401, "auth.not_authenticated")
    refresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": doomed["refresh_token"]}, headers=app.basic)
    assert_envelope(refresh, 400, "auth.invalid_grant")
    assert client.get("/api/customers/", headers=bearer(kept["access_token"])).status_code == 200
    assert f"/grants/{family}/revoke" not in admin.get(f"/integrations/{app.id}").text


def test_revoking_a_static_api_token_fails_it_at_once(client, account_a):
    from app.accounts.models import ApiToken
    from app.database.base import utcnow
    from app.database.engine import session_scope

    assert client.get("/api/customers/", headers=account_a.bearer).status_code == 200
    with session_scope() as session:
        for row in session.scalars(select(ApiToken).where(ApiToken.account_id == account_a.id)):
            row.revoked_at = utcnow()

    assert_envelope(client.get("/api/customers/", headers=account_a.bearer), 401, "auth.not_authenticated")


def test_secrets_and_tokens_are_stored_only_as_hashes(client, account_a):
    from app.accounts.tokens import hash_token
    from app.database.engine import session_scope
    from app.integrations.models import OAuthApp, OAuthToken

    app = make_app(account_a.id)
    first = get_token(client, app)
    second = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, headers=app.basic).json()
    secrets_given = [app.client_secret, first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]]

    with session_scope() as session:
        stored_app = session.get(OAuthApp, app.id)
        tokens = list(session.scalars(select(OAuthToken).where(OAuthToken.app_id == app.id)))
        stored = [str(v) for row in [stored_app, *tokens] for v in vars(row).values() if isinstance(v, str)]

    assert stored_app.secret_hash == hash_token(app.client_secret)
    assert {t.token_hash for t in tokens} == {hash_token(s) for s in secrets_given[1:]}
    for secret in secrets_given:
        assert not any(secret in value for value in stored), "a secret is stored in clear"


def test_purging_removes_expired_tokens_and_nothing_answers_differently(client, account_a):
    from click.testing import CliRunner

    from app.cli import cli
    from app.database.base import utcnow
    from app.database.engine import session_scope
    from app.integrations.models import OAuthToken

    app = make_app(account_a.id)
    old = get_token(client, app)
    rotated = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]}, headers=app.basic)
    assert rotated.status_code == 200
    live = get_token(client, app)  # a second grant, left alone
    with session_scope() as session:
        first_family = session.scalar(select(OAuthToken.family).where(OAuthToken.app_id == app.id).order_by(OAuthToken.id))
        family = session.scalars(select(OAuthToken).where(OAuthToken.app_id == app.id, OAuthToken.family == first_family)).all()
        assert len(family) == 4  # the first pair (refresh used) and the rotated pair
        for row in family:
            row.expires_at = utcnow()
    before = {
        "access": client.get("/api/customers/", headers=bearer(rotated.json()["access_token"])).status_code,
        "refresh": client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
                               headers=app.basic).json()["error"]["key"],
    }

    result = CliRunner().invoke(cli, ["tokens", "purge"])

    assert result.exit_code == 0, result.output
    removed = int(result.output.split()[1])
    assert removed >= 4  # other tests' expired tokens go too
    with session_scope() as session:
        left = session.scalars(select(OAuthToken.family).where(OAuthToken.app_id == app.id)).all()
    assert first_family not in left and len(left) == 2
    assert before == {"access": 401, "refresh": "auth.invalid_grant"}
    assert client.get("/api/customers/", headers=bearer(rotated.json()["access_token"])).status_code == 401
    reused = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]}, headers=app.basic)
    assert_envelope(reused, 400, "auth.invalid_grant")
    assert client.get("/api/customers/", headers=bearer(live["access_token"])).status_code == 200
    assert client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": live["refresh_token"]},
                       headers=app.basic).status_code == 200
