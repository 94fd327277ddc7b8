"""Bad input gets a clear 4xx in the error envelope, never a 500: very long
fields, wrong types, bad UTF-8, deep JSON, huge bodies, odd headers and
parameters, on the Customers API and the token endpoint; and the pages answer
bad form input with a 4xx page, not a crash."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import (
    assert_envelope,
    csrf_of,
    fill_path,
    make_app,
    snapshot,
)

TOKEN_URL = "/api/auth/token/"


@pytest.fixture
def api(client, account_a):
    """(client, headers) of a fresh account, and the id of one of its customers."""
    created = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=account_a.bearer)
    assert created.status_code == 201
    return client, account_a.bearer, created.json()["id"]


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
    from tests.security.conftest import csrf_of

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


# -- numbers: ASCII digits only, everywhere a number is read --------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def not_numbers(number: int) -> dict[str, str]:
    """Spellings of ``number`` that ``int()`` or ``str.isdigit`` take but that are no ASCII whole number,
    and values too large for any id (a str of 5,000 digits makes ``int()`` raise)."""
    text = str(number)
    return {
        "arabic-indic": text.translate(ARABIC_INDIC),
        "full-width": text.translate(FULL_WIDTH),
        "superscript": text.translate(SUPERSCRIPT),
        "plus": f"+{text}",
        "minus": f"-{text}",
        "space": f" {text}",
        "underscore": f"{text[0]}_{text[1:]}" if len(text) > 1 else f"{text}_0",
        "huge": "9" * 40,
        "5000-digits": "9" * 5000,
    }


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _with_int_params(app) -> list[tuple[str, str]]:
    """(method, path) of every route with an int in its path, on both faces."""
    found = []
    for route in app.routes:
        if ":int}" not in route.path:
            continue
        for method in getattr(route, "route_handler_map", {}):
            if method not in ("OPTIONS", "HEAD"):
                found.append((method, route.path))
    return sorted(found)


def test_every_route_with_an_id_in_its_path_reads_ascii_digits_only(app, api, signed_in, account_a):
    """``/api/customers/٧٨٢/`` acted on customer 782 (DELETE included): Litestar reads ``{id:int}``
    with ``int()``. Every such route on both faces answers 404 and changes nothing."""
    client, headers, customer_id = api
    admin = signed_in(account_a.admin_email)
    admin.headers["x-csrftoken"] = csrf_of(admin)
    routes = _with_int_params(app)
    assert any(path.startswith("/api/") for _, path in routes) and any(path.startswith("/customers/") for _, path in routes)
    before = snapshot(account_a.id)
    for name, spelling in not_numbers(customer_id).items():
        for method, path in routes:
            url = fill_path(path, {"customer_id": _quoted(spelling), "item_id": _quoted(spelling), "app_id": _quoted(spelling), "endpoint_id": _quoted(spelling), "delivery_id": _quoted(spelling), "field_name": "is_favourite", "family": "0" * 32})
            if path.startswith("/api/"):
                body = b'{"note": "changed"}' if method == "PUT" else None
                response = client.request(method, url, content=body, headers={**headers, "Content-Type": "application/json"})
                assert_envelope(response, 404, "common.unknown")
            else:
                response = admin.request(method, url, data={"value": "1", "first_name": "Changed", "last_name": "X"} if method == "POST" else None, follow_redirects=False)
                assert response.status_code == 404, (name, method, url, response.status_code)
    assert snapshot(account_a.id) == before
    assert client.get(f"/api/customers/{customer_id}/", headers=headers).status_code == 200
    assert client.get(f"/api/customers/0{customer_id}/", headers=headers).status_code == 200  # ASCII digits, leading zero


@pytest.mark.parametrize("resource", ["customers", "users"])
@pytest.mark.parametrize("spelling", [*not_numbers(2).values(), "²", "1.5", "", "0", "-0"], ids=[*not_numbers(2), "superscript-2", "decimal", "empty", "zero", "minus-zero"])
def test_the_list_page_number_is_ascii_digits_or_the_first_page(signed_in, account_a, resource, spelling):
    """``/customers?page=²`` and ``/users?page=²`` answered 500."""
    admin = signed_in(account_a.admin_email)
    response = admin.get(f"/{resource}", params={"page": spelling})
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("name", ["page", "limit", "after"])
@pytest.mark.parametrize("spelling", list(not_numbers(3).values()), ids=list(not_numbers(3)))
def test_the_api_list_parameters_are_ascii_digits_only(api, name, spelling):
    client, headers, _ = api
    if spelling == "9" * 40:
        pytest.skip("a large number in ASCII digits is capped (the last page, the largest id), not an error")
    for path in ("/api/customers/", "/api/customers/favourites/"):
        response = client.get(path, params={name: spelling}, headers=headers)
        assert_envelope(response, 400, "common.invalid_parameter")


@pytest.mark.parametrize("spelling", [*not_numbers(10).values(), "¹⁰", "٣"], ids=[*not_numbers(10), "superscript-10", "arabic-3"])
def test_x_api_version_is_ascii_digits_only(api, spelling):
    client, headers, customer_id = api
    response = client.get(f"/api/customers/{customer_id}/", headers={**headers, "X-Api-Version": spelling.encode()})
    if spelling == " 10":
        assert response.status_code == 200  # surrounding blanks are no part of a header's value (RFC 9110 §5.5)
    else:
        assert_envelope(response, 400, "common.invalid_api_version")


def test_form_numbers_are_ascii_digits_only(api, signed_in, account_a):
    """A posted version, bulk ids, a sub-form's index and the channel: never a 500, never read as a number."""
    client, headers, customer_id = api
    admin = signed_in(account_a.admin_email)
    admin.headers["x-csrftoken"] = csrf_of(admin)
    for name, spelling in not_numbers(customer_id).items():
        before = snapshot(account_a.id)
        # Bulk ids: none of them selects the customer.
        response = admin.post("/customers/bulk", data={"action": "favourite", "ids": spelling, "confirm": "1"}, follow_redirects=False)
        assert response.status_code == 303, (name, response.status_code)
        assert snapshot(account_a.id) == before, name
        # A shipping address index: no such field, so no address (and no 500), also with "Add".
        # (40 ASCII digits are an index like any other.)
        for extra in ({}, {"_add": "shipping_address"}) if name != "huge" else ():
            response = admin.post("/customers/", data={"first_name": "Ada", "last_name": name, f"shipping_address-{spelling}-city": "Kiel", **extra}, follow_redirects=False)
            assert response.status_code in (200, 303), (name, extra, response.status_code)
            assert "Kiel" not in response.text, (name, extra)
            # The same on an edit, where the posted list is laid over the stored one.
            response = admin.post(f"/customers/{customer_id}/edit", data={"first_name": "Ada", "last_name": "Lovelace", f"shipping_address-{spelling}-city": "Kiel", **extra}, follow_redirects=False)
            assert response.status_code in (200, 303), (name, extra, response.status_code)
            assert "Kiel" not in response.text, (name, extra)
        # The channel: a field error on the page, as on the API.
        response = admin.post("/customers/", data={"company": f"Channel {name}", "channel": spelling}, follow_redirects=False)
        assert response.status_code == 422, (name, response.status_code)
        assert "Not a valid integer value." in response.text or "Must be a positive whole number." in response.text
        # The version the edit is based on: a malformed one is no version, a huge one no version
        # the customer has (nothing to merge: the posted fields are the stored ones); never a 500.
        response = admin.post(f"/customers/{customer_id}/edit", data={"first_name": "Ada", "last_name": "Lovelace", "_version": spelling}, follow_redirects=False)
        assert response.status_code == 303, (name, response.status_code)
    created = client.get("/api/customers/", params={"search": "Ada"}, headers=headers).json()["data"]
    assert all(c["shipping_address"] == [] for c in created)


@pytest.mark.parametrize(
    ("variable", "spelling"),
    [("CLIENTELE_API_CACHE_ENTRIES", "٥١٢"), ("CLIENTELE_API_CACHE_ENTRIES", "+5"), ("CLIENTELE_PORT", "８０００"), ("CLIENTELE_PORT", "80_00")],
)
def test_settings_are_ascii_digits_only(monkeypatch, variable, spelling):
    from app.config import get_settings

    monkeypatch.setenv(variable, spelling)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match=variable):
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_the_rate_limit_setting_is_ascii_digits_or_the_default(monkeypatch):
    from app.shared import ratelimit

    for spelling in ("٥", "５", "+5", "5_0"):
        monkeypatch.setenv("CLIENTELE_RATE_LIMIT", spelling)
        assert ratelimit.limit_per_second() == ratelimit.DEFAULT_LIMIT, spelling
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "5")
    assert ratelimit.limit_per_second() == 5


@pytest.mark.parametrize("length", ["٧", "７", "+5", "5_0", "-1", "9" * 30, "0x5"])
def test_a_content_length_that_is_not_ascii_digits_is_refused_by_the_server(live_server, account_a, length):
    """Content-Length is read by the HTTP server before the app: it answers 400 and nothing is created."""
    import socket
    from urllib.parse import urlsplit

    host, port = urlsplit(live_server).hostname, urlsplit(live_server).port
    body = b'{"company": "Length test"}'
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/customers/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
            + account_a.api_token.encode() + b"\r\nContent-Length: " + length.encode() + b"\r\n\r\n" + body
        )
        status_line = sock.recv(100).split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.1 400"), status_line
    assert snapshot(account_a.id)["customers"] == []


# -- search input, and printing and export that fail ------------------------------------------

SEARCH_NOISE = {
    "nul": "\x00", "bell": "\x07", "escape": "\x1b", "delete": "\x7f", "c1": "\x85", "rlo": "\u202e",
    "zero-width-space": "\u200b", "bom": "\ufeff", "line-separator": "\u2028", "private-use": "\ue000",
}


@pytest.mark.parametrize("noise", list(SEARCH_NOISE.values()), ids=list(SEARCH_NOISE))
def test_every_search_input_is_cleaned_the_same_way(api, signed_in, account_a, noise):
    """``/users/print?q=%00`` and ``/users/export.csv?q=%00`` answered 200 on PostgreSQL and then
    dropped the connection mid-body. Every list, print and export of every resource, and the API's
    search, drop what cannot be typed and search for the rest."""
    client, headers, _ = api  # the customer Ada Lovelace
    admin = signed_in(account_a.admin_email)  # the user "Admin", admin-…@example.com
    for resource, word, expected in (("customers", "Lovelace", "Lovelace"), ("users", "admin", account_a.admin_email)):
        q = f"{noise}{word[:3]}{noise}{word[3:]}{noise}"
        for view in ("", "/print", "/export.csv"):
            response = admin.get(f"/{resource}{view}", params={"q": q})
            assert response.status_code == 200, (resource, view, response.status_code)
            assert expected in response.text, (resource, view)
    for path in ("/api/customers/", "/api/customers/favourites/"):
        response = client.get(path, params={"search": f"{noise}Love{noise}lace{noise}"}, headers=headers)
        assert response.status_code == 200, response.text[:300]
        assert response.json()["total"] == (1 if path == "/api/customers/" else 0)


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%C0%80", "x" * 5000, "%25%00", "%E2%80%AE" * 300])
def test_undecodable_and_long_searches_are_fine_everywhere(api, signed_in, account_a, raw):
    client, headers, _ = api
    admin = signed_in(account_a.admin_email)
    for resource in ("customers", "users"):
        for view in ("", "/print", "/export.csv"):
            response = admin.get(f"/{resource}{view}?q={raw}")
            assert response.status_code == 200, (resource, view, response.status_code)
    assert client.get(f"/api/customers/?search={raw}", headers=headers).status_code == 200


def _add_users(account_id: int, count: int, broken_email: str) -> list[str]:
    """``count`` users, and one that this app cannot read back: its created_at (year 20000) is beyond
    Python's dates. Rows like it come from other programs writing to the database, or from damage."""
    import uuid

    from sqlalchemy import insert, text

    from app.accounts.models import User
    from app.database.base import utcnow
    from app.database.engine import session_scope

    tag = uuid.uuid4().hex[:10]
    emails = [f"b-{tag}-{i:05d}@example.com" for i in range(count)]
    with session_scope() as session:
        if emails:
            rows = [{"account_id": account_id, "email": e, "name": "N" * 150, "password_hash": "x", "role": "staff", "created_at": utcnow()} for e in emails]
            session.execute(insert(User), rows)
        session.execute(
            text("INSERT INTO users (account_id, email, name, password_hash, role, created_at) VALUES (:account, :email, 'Broken', 'x', 'staff', :at)"),
            {"account": account_id, "email": broken_email, "at": "20000-01-01 00:00:00"},
        )
        session.commit()
    return [*emails, broken_email]


def _remove_users(emails: list[str]) -> None:
    from sqlalchemy import delete

    from app.accounts.models import User
    from app.database.engine import session_scope

    with session_scope() as session:
        session.execute(delete(User).where(User.email.in_(emails)))
        session.commit()


def test_a_print_or_export_that_fails_before_its_first_rows_answers_an_error_page(signed_in, account_a):
    """The list's query runs and its first rows are read before the first byte is sent: an error
    there is an ordinary error page (it was a 200 cut short)."""
    admin = signed_in(account_a.admin_email)
    emails = _add_users(account_a.id, 0, broken_email=f"0-broken-{account_a.id}@example.com")  # sorts first
    try:
        for view in ("/users/print", "/users/export.csv"):
            response = admin.get(view)
            # 500; on PostgreSQL the driver's DataError is answered 400 (app/api/errors.py): an error page either way
            assert response.status_code in (400, 500), (view, response.status_code)
            assert response.headers["content-type"].startswith("text/html"), view
            assert response.text.rstrip().endswith("</html>"), view
    finally:
        _remove_users(emails)


def test_a_print_or_export_that_fails_midway_is_cut_short_for_the_client(live_server, account_a):
    """Past its first rows a stream cannot turn into an error page: the server closes the
    connection without the chunked body's last chunk, which every HTTP client reports as an
    incomplete body, so nobody takes what arrived for the whole list."""
    import httpx

    from tests.security.conftest import sign_in

    emails = _add_users(account_a.id, 3000, broken_email=f"zz-broken-{account_a.id}@example.com")  # sorts last
    try:
        with httpx.Client(base_url=live_server, timeout=60) as browser:
            sign_in(browser, account_a.admin_email)
            for view in ("/users/print", "/users/export.csv"):
                received = bytearray()
                with browser.stream("GET", view) as response:
                    assert response.status_code == 200, view
                    assert response.headers["transfer-encoding"] == "chunked"
                    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                        for chunk in response.iter_raw():
                            received += chunk
                assert len(received) > 65536, view  # the first rows arrived, the rest never did
                assert b"b-" in received and b"zz-broken" not in received, view
    finally:
        _remove_users(emails)


# -- invisible characters in typed text ---------------------------------------------------------

HIDDEN = {
    "rlo": "\u202e", "lre": "\u202a", "rli": "\u2067", "pdi": "\u2069", "rlm": "\u200f", "zero-width-space": "\u200b",
    "word-joiner": "\u2060", "bom": "\ufeff", "soft-hyphen": "\u00ad", "line-separator": "\u2028", "zwj-in-latin": "\u200d",
}
CUSTOMER_TEXT = ("first_name", "last_name", "company", "email", "phone_number", "tax_number", "note", "title", "country_code")
ADDRESS_TEXT = ("first_name", "last_name", "company", "address1", "address2", "zipcode", "city", "state")


def _spoof(value: str, hidden: str) -> str:
    """``value`` with ``hidden`` inside (not at an end, where trimming would drop a blank one)."""
    return value[:1] + hidden + value[1:]


@pytest.mark.parametrize("hidden", list(HIDDEN.values()), ids=list(HIDDEN))
def test_invisible_characters_are_refused_in_every_customer_text_field_on_both_faces(api, signed_in, account_a, hidden):
    """A right-to-left override or a zero-width character in a name was stored and shown as-is
    ("Ada" + U+202E + "ecnalevoL" shows as "AdaLovelace"). Both faces refuse it with the same error."""
    client, headers, customer_id = api
    admin = signed_in(account_a.admin_email)
    admin.headers["x-csrftoken"] = csrf_of(admin)
    valid = {"first_name": "Grace", "last_name": "Hopper", "company": "Navy", "email": "grace@example.com", "phone_number": "+1 555 0100",
             "tax_number": "US123", "note": "Admiral", "title": "Ms.", "country_code": "49"}
    before = snapshot(account_a.id)
    for name in CUSTOMER_TEXT:
        body = {**valid, name: _spoof(valid[name], hidden)}
        for method, url in (("POST", "/api/customers/"), ("PUT", f"/api/customers/{customer_id}/")):
            error = assert_envelope(client.request(method, url, json=body, headers=headers), 400, "common.serializer_error")
            assert any("invisible character" in m for m in error["fields"].get(name, [])), (name, method, error["fields"])
        page = admin.post("/customers/", data=body, follow_redirects=False)
        assert page.status_code == 422, (name, page.status_code)
        assert "invisible character" in page.text, name
    for name in ADDRESS_TEXT:
        address = {"first_name": "Grace", "last_name": "Hopper", "company": "Navy", "address1": "Main Street 1", "address2": "Floor 2",
                   "zipcode": "10115", "city": "Berlin", "state": "Berlin"}
        address[name] = _spoof(address[name], hidden)
        for key in ("billing_address", "shipping_address"):
            body = {**valid, key: address if key == "billing_address" else [address]}
            error = assert_envelope(client.post("/api/customers/", json=body, headers=headers), 400, "common.serializer_error")
            path = f"billing_address.{name}" if key == "billing_address" else f"shipping_address.0.{name}"
            assert any("invisible character" in m for m in error["fields"].get(path, [])), (path, error["fields"])
            prefix = "billing_address-" if key == "billing_address" else "shipping_address-0-"
            page = admin.post("/customers/", data={**valid, **{prefix + k: v for k, v in address.items()}}, follow_redirects=False)
            assert page.status_code == 422 and "invisible character" in page.text, (path, page.status_code)
    row = admin.post(f"/customers/{customer_id}/row", data={"first_name": _spoof("Ada", hidden), "last_name": "Lovelace"})
    assert "invisible character" in row.text
    assert snapshot(account_a.id) == before


@pytest.mark.parametrize("hidden", list(HIDDEN.values()), ids=list(HIDDEN))
def test_invisible_characters_are_refused_in_users_and_integrations(signed_in, account_a, hidden):
    admin = signed_in(account_a.admin_email)
    token = csrf_of(admin)
    before = snapshot(account_a.id)
    for data in (
        {"email": _spoof("new-user@example.com", hidden), "name": "New", "role": "staff", "password": "a long enough password"},
        {"email": "new-user@example.com", "name": _spoof("New user", hidden), "role": "staff", "password": "a long enough password"},
    ):
        response = admin.post("/users", data={**data, "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 422 and "invisible character" in response.text, (data, response.status_code)
    response = admin.post("/integrations", data={"name": _spoof("Shop sync", hidden), "scopes": "customers", "_csrf_token": token})
    assert response.status_code == 422 and "invisible character" in response.text
    assert snapshot(account_a.id) == before


def test_joiners_that_a_script_or_an_emoji_needs_are_kept(api):
    """Persian and the Indic scripts write some words with a zero-width (non-)joiner, and emoji
    sequences hold the joiner: those are no disguise and are stored as sent."""
    client, headers, _ = api
    body = {"first_name": "فرزانه\u200cپور", "last_name": "क्\u200dष", "company": "Team \U0001f469\u200d\U0001f4bb", "note": "\U0001f468\u200d\U0001f469\u200d\U0001f467"}
    response = client.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in body} == body


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


@pytest.mark.parametrize("number", [2**31, 2**32, 2**63 - 1, 2**63, 10**30])
def test_ids_beyond_the_id_columns_are_404_on_every_route(app, api, signed_in, account_a, number):
    """Ids are Integer columns (32 bits on PostgreSQL): a larger id in a path answered 400 "A value
    could not be stored…" there on the routes not guarded by the customers service. Every route
    with an id in its path answers 404, as for any other id that names nothing, on both faces."""
    client, headers, _ = api
    admin = signed_in(account_a.admin_email)
    admin.headers["x-csrftoken"] = csrf_of(admin)
    before = snapshot(account_a.id)
    for method, path in _with_int_params(app):
        url = fill_path(path, {"customer_id": number, "item_id": number, "app_id": number, "endpoint_id": number, "delivery_id": number, "field_name": "is_favourite", "family": "0" * 32})
        if path.startswith("/api/"):
            body = b'{"note": "changed"}' if method == "PUT" else None
            assert_envelope(client.request(method, url, content=body, headers={**headers, "Content-Type": "application/json"}), 404, "common.unknown")
        else:
            response = admin.request(method, url, data={"value": "1", "first_name": "Changed", "last_name": "X"} if method == "POST" else None, follow_redirects=False)
            assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot(account_a.id) == before


def test_a_nul_in_the_search_of_every_list_is_cleaned(signed_in, account_a):
    """``?q=%00`` on the users list and export and the customers' trash answered 400 or dropped the
    connection on PostgreSQL: the NUL is dropped and the rest searched, as every search does."""
    admin = signed_in(account_a.admin_email)
    for path in ("/customers", "/customers/trash", "/customers/print", "/customers/export.csv", "/users", "/users/print", "/users/export.csv"):
        for q in ("%00", "ad%00min", "%00%00"):
            response = admin.get(f"{path}?q={q}")
            assert response.status_code == 200, (path, q, response.status_code)
    assert account_a.admin_email in admin.get("/users/export.csv?q=ad%00min").text
