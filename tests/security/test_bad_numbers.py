"""Numbers are read as ASCII digits only, everywhere a number is read: ids in paths, list pages,
API parameters, the API version, form fields, settings and Content-Length; and ids beyond the id columns."""

from __future__ import annotations

import pytest

from tests.fixtures.security import (
    assert_envelope,
    csrf_of,
    fill_path,
    snapshot,
)

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
