"""Bad input gets a clear 4xx in the error envelope, never a 500: very long
fields, wrong types, bad UTF-8, deep JSON, huge bodies, odd headers and
parameters, on the Customers API and the token endpoint; and the pages answer
bad form input with a 4xx page, not a crash."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.security import (
    assert_envelope,
    csrf_of,
    make_app,
)

TOKEN_URL = "/api/auth/token/"


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": "x" * 100_000, "last_name": "y"},
        {"company": "c" * 1_000_000},
        {"first_name": 123, "last_name": ["a"]},
        {"first_name": "A", "last_name": "B", "is_vip": "yes"},
        {"first_name": "A", "last_name": "B", "channel": "one"},
        {"first_name": "A", "last_name": "B", "channel": 10**30},
        {"first_name": "A", "last_name": "B", "birthday": "not a date"},
        {"first_name": "A", "last_name": "B", "birthday": 12},
        {"first_name": "A", "last_name": "B", "billing_address": "Main Street 1"},
        {"first_name": "A", "last_name": "B", "billing_address": {"city": {"nested": True}}},
        {"first_name": "A", "last_name": "B", "shipping_address": {"city": "Berlin"}},
        {"first_name": "A", "last_name": "B", "shipping_address": ["Berlin"]},
        {"first_name": "A", "last_name": "B", "shipping_address": [{"city": "x"}] * 500},
        {"first_name": "A", "last_name": "B", "email": "not an email"},
        {"first_name": "A\u0000B", "last_name": "C"},
        {"first_name": "\ud800", "last_name": "x"},
        {"first_name": None, "last_name": None},
    ],
    ids=lambda b: json.dumps(b)[:40],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bad_fields_are_400_in_the_envelope(api, body, method):
    client, headers, customer_id = api
    url = "/api/customers/" if method == "POST" else f"/api/customers/{customer_id}/"

    response = client.request(method, url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"})

    assert 400 <= response.status_code < 500, response.text[:300]
    assert_envelope(response, response.status_code)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"first_name": "\xff\xfe", "last_name": "x"}',
        b"\xef\xbb\xbf{}",
        b'{"first_name": "A", "last_name": ',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[]",
        b'"a string"',
        b"null",
        b"1e999999",
        b"NaN",
        b"",
        b"   ",
        b'{"first_name": "A", "first_name": "B", "last_name": "C"}',
    ],
    ids=["bad-utf8", "bom", "truncated", "deep-array", "deep-object", "array", "string", "null", "huge-number", "nan", "empty", "blank", "duplicate-key"],
)
def test_unreadable_bodies_are_400_in_the_envelope(api, raw):
    client, headers, customer_id = api
    for method, url in (("POST", "/api/customers/"), ("PUT", f"/api/customers/{customer_id}/")):
        response = client.request(method, url, content=raw, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code < 500, (method, response.text[:300])
        if response.status_code >= 400:
            assert_envelope(response, response.status_code)


def test_a_huge_body_is_413_in_the_envelope(api):
    client, headers, _ = api
    body = json.dumps({"first_name": "A", "last_name": "B", "note": "x" * (2 * 1024 * 1024)})

    response = client.post("/api/customers/", content=body, headers={**headers, "Content-Type": "application/json"})

    assert_envelope(response, 413, "common.request_too_large")


@pytest.mark.parametrize(
    "extra",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=zzz"},
        {"Content-Type": "application/json; charset=latin-1"},
        {"X-Api-Version": "abc"},
        {"X-Api-Version": "99999999999999999999999"},
        {"X-Api-Version": "-1"},
        {"X-Api-Version": "٣"},
        {"X-Api-Version": "10; drop table"},
        {"Accept": "text/html"},
        {"Accept": "application/xml;q=2, */*;q=abc"},
        {"Accept-Encoding": "🙂"},
        {"X-Forwarded-For": "not an address"},
        {"Host": "evil.example"},
        {"Cookie": "clientele_session=" + "x" * 4000},
    ],
    ids=lambda h: f"{next(iter(h))}={next(iter(h.values()))[:20]}",
)
def test_odd_headers_get_a_clear_answer(api, extra):
    client, headers, _ = api
    extra = {name: value.encode("utf-8") for name, value in extra.items()}  # raw bytes, as a client may send them
    response = client.post("/api/customers/", content=b'{"first_name": "A", "last_name": "B"}', headers={"Content-Type": "application/json", **headers, **extra})
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert_envelope(response, response.status_code)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer " + "x" * 10_000, "Basic Zm9vOmJhcg==", "bearer\tclt_x", "Bearer clt_\u00e9\u00e9", "Token abc", "Bearer cla_" + "a" * 43],
)
def test_odd_authorization_headers_are_401_in_the_envelope(client, authorization):
    response = client.get("/api/customers/", headers={"Authorization": authorization.encode("utf-8")})
    assert_envelope(response, 401, "auth.not_authenticated")


@pytest.mark.parametrize(
    "query",
    ["limit=-1", "limit=0", "limit=abc", "page=0", "page=1.5", "limit=%00", "search=" + "x" * 5000, "search=%ff%fe", "page=&limit=", "limit=1&limit=2"],
)
def test_odd_query_parameters_are_4xx_or_fine(api, query):
    client, headers, _ = api
    response = client.get(f"/api/customers/?{query}", headers=headers)
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert_envelope(response, response.status_code)


@pytest.mark.parametrize("path", ["/api/customers/abc/", "/api/customers/-1/", "/api/customers/0/", "/api/customers/%00/", "/api/customers/1.5/"])
def test_odd_ids_are_404_in_the_envelope(api, path):
    client, headers, _ = api
    assert_envelope(client.get(path, headers=headers), 404, "common.unknown")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"grant_type=client_credentials&scope=%ff", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"{" * 10_000, "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"grant_type": 1}', "application/json"),
        (b'{"grant_type": ["client_credentials"]}', "application/json"),
        (b"[]", "application/json"),
        (b"grant_type=client_credentials", "text/plain"),
        (b"grant_type=client_credentials&" + b"x=1&" * 10_000, "application/x-www-form-urlencoded"),
        (b"grant_type=client_credentials&scope=" + b"s" * 100_000, "application/x-www-form-urlencoded"),
        (b"grant_type=" + b"g" * 100_000, "application/x-www-form-urlencoded"),
    ],
    ids=["bad-percent-utf8", "bad-utf8", "unclosed-json", "deep-json", "int-grant", "list-grant", "array", "text-plain", "many-fields", "long-scope", "long-grant"],
)
def test_the_token_endpoint_answers_bad_bodies_with_4xx_envelopes(client, account_a, content, content_type):
    app = make_app(account_a.id)
    response = client.post(TOKEN_URL, content=content, headers={**app.basic, "Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert_envelope(response, response.status_code)


def test_the_token_endpoint_refuses_a_huge_body_with_413(client, account_a):
    app = make_app(account_a.id)
    response = client.post(TOKEN_URL, content=b"grant_type=client_credentials&x=" + b"a" * (2 * 1024 * 1024), headers={**app.basic, "Content-Type": "application/x-www-form-urlencoded"})
    assert_envelope(response, 413)


def test_the_token_endpoint_answers_odd_basic_credentials_with_401(client):
    import base64

    for raw in (b"\xff\xfe:\xff", b":", b"a" * 10_000 + b":" + b"b" * 10_000, "clc_é:ü".encode()):
        response = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})
        assert_envelope(response, 401, "auth.invalid_client")


def test_the_integrations_form_answers_bad_input_with_its_errors(signed_in, account_a):
    admin = signed_in(account_a.admin_email)
    token = csrf_of(admin)
    for data in (
        {"name": "", "scopes": "customers"},
        {"name": "x" * 5000, "scopes": "customers"},
        {"name": "ok", "scopes": "admin:everything"},
        {"name": "ok"},
        {"name": "   ", "scopes": "customers"},
    ):
        response = admin.post("/integrations", data={**data, "_csrf_token": token})
        assert response.status_code == 422, (data, response.status_code)
        assert "Nothing was created" in response.text
    from app.database.engine import session_scope
    from app.integrations import service

    with session_scope() as session:
        assert service.list_apps(session, account_a.id) == []


ODD_STATIC_PATHS = [
    "/static/app.css%00", "/static/%00", "/static/app.css%00.js", "/static/a%00b/c", "/static/app.css%2500",
    "/static/" + "a" * 5000, "/static/" + "a/" * 3000, "/static/app.css/x", "/static/vendor/x/y",
    "/static/%2e%2e/app/main.py", "/static/..%2fapp%2fmain.py", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/static/%5capp.css", "/static/%ff", "/static/%ed%a0%80",
    "/static/%0a", "/static/.", "/static/", "/static/vendor",
]


def test_odd_static_paths_are_404_and_log_nothing(database):
    """Static paths no file can have (a NUL byte, names too long, a file taken for a directory,
    paths out of the folder): 404 without sign-in, and no error in the server's log."""
    import os
    import tempfile
    from pathlib import Path

    import httpx

    from tests.server import serve

    with serve("static-paths") as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        answers = {path: client.get(path).status_code for path in ODD_STATIC_PATHS}
        assert client.get("/static/app.css").status_code == 200
    log = (Path(tempfile.gettempdir()) / f"clientele-static-paths-server-{os.getpid()}.log").read_text(errors="replace")

    assert answers == dict.fromkeys(ODD_STATIC_PATHS, 404)
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
