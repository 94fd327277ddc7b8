"""Security headers on every kind of response, and Secure cookies over HTTPS."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.security import sign_in


def csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def assert_common(response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert csp(response)["frame-ancestors"] == "'none'"


@pytest.fixture
def admin(signed_in, account_a):
    return signed_in(account_a.admin_email)


@pytest.mark.parametrize("path", ["/customers", "/customers/new", "/users", "/integrations", "/customers/print"])
def test_pages_allow_only_our_own_scripts_and_styles_and_are_not_stored(admin, path):
    response = admin.get(path)

    assert response.status_code == 200
    assert_common(response)
    policy = csp(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert policy["object-src"] == "'none'"
    assert response.headers["cache-control"] == "no-store"


def test_pages_hold_no_inline_script_or_style_that_the_policy_would_block(admin):
    for path in ("/login", "/customers", "/customers/new", "/users", "/users/new", "/integrations", "/customers/print"):
        html = admin.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html, path
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers
        assert not re.search(r'\sstyle\s*=\s*"', html), path  # no style attributes
        assert "javascript:" not in html, path


def test_htmx_is_told_not_to_inject_its_indicator_styles(client):
    html = client.get("/login").text
    assert '"includeIndicatorStyles": false' in html


def test_error_pages_and_the_login_page_get_the_headers_too(client):
    for path in ("/login", "/no-such-page", "/customers/abc"):
        response = client.get(path, follow_redirects=False)
        assert_common(response)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"


def test_the_api_allows_nothing_to_run_and_is_not_stored(client, account_a):
    for response in (
        client.get("/api/customers/", headers=account_a.bearer),
        client.get("/api/customers/"),
        client.get("/api/nothing-here/", headers=account_a.bearer),
        client.post("/api/auth/token/", data={"grant_type": "client_credentials"}),
    ):
        assert_common(response)
        assert csp(response)["default-src"] == "'none'"
        assert response.headers["cache-control"] == "no-store"


def test_swagger_ui_has_its_own_policy_and_no_inline_script(client):
    page = client.get("/schema/swagger")

    assert page.status_code == 200
    assert_common(page)
    policy = csp(page)
    assert policy["script-src"] == "'self'"
    assert "unsafe-eval" not in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    for src in re.findall(r'src="([^"]+)"', page.text):
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200, src


def test_static_files_may_be_cached(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers.get("cache-control") != "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def _set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_cookies_over_plain_http_in_development_are_not_secure(new_client, account_a):
    client = new_client("http://testserver.local")
    response = client.get("/login")
    cookies = _set_cookies(response)
    assert cookies and all("secure" not in c.lower() for c in cookies)
    assert "strict-transport-security" not in response.headers


def test_cookies_are_secure_and_hsts_is_sent_when_served_over_https(new_client, account_a):
    client = new_client("https://testserver.local")

    first = client.get("/login")
    assert first.headers["strict-transport-security"].startswith("max-age=")
    cookies = _set_cookies(first)
    assert cookies
    for cookie in cookies:
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert "secure" in attributes, cookie
    sign_in(client, account_a.admin_email)
    session_cookie = [c for c in client.cookies.jar if c.name == "clientele_session"]
    assert session_cookie and all(c.secure for c in session_cookie)
    assert client.get("/customers", follow_redirects=False).status_code == 200


def test_session_cookie_is_httponly_and_samesite(new_client, account_a):
    client = new_client()
    client.get("/login")
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": account_a.admin_email, "password": "correct horse battery", "_csrf_token": token}, follow_redirects=False)
    session = [c for c in _set_cookies(response) if c.startswith("clientele_session=")]
    assert session
    attributes = [a.strip().lower() for a in session[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


# -- protocol ----------------------------------------------------------------------------

PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _sample_path(path: str) -> str:
    return re.sub(r"{(\w+):(\w+)}", lambda m: {"int": "1", "path": "app.css"}.get(m.group(2), "x"), path)


def test_options_lists_every_method_the_path_serves(app, client):
    """OPTIONS answered ``Allow: OPTIONS, POST`` on /api/customers/ (GET missing) and
    ``Allow: DELETE, OPTIONS`` on /api/customers/{id}/. On every path of the app, Allow
    names exactly the methods that are not answered 405."""
    for route in app.routes:
        if not hasattr(route, "route_handler_map"):
            continue
        url = _sample_path(route.path) + ("/" if route.path.startswith("/api/") else "")
        response = client.options(url)
        assert response.status_code == 204, (url, response.status_code)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        for method in PROBED_METHODS:
            served = client.request(method, url, follow_redirects=False).status_code != 405
            assert served == (method in allowed), (url, method, sorted(allowed))


def test_options_on_the_customers_api(client):
    expected = {
        "/api/customers/": {"GET", "POST", "OPTIONS"},
        "/api/customers/1/": {"GET", "PUT", "POST", "DELETE", "OPTIONS"},  # POST: the reference's alias of PUT
        "/api/customers/favourites/": {"GET", "OPTIONS"},
        "/api/auth/token/": {"POST", "OPTIONS"},
    }
    for url, methods in expected.items():
        response = client.options(url)
        assert {m.strip() for m in response.headers["allow"].split(",")} == methods, url


def test_no_response_names_its_charset_twice(client, account_a, signed_in):
    """The CSV export and the printed list sent ``text/csv; charset=utf-8; charset=utf-8``."""
    admin = signed_in(account_a.admin_email)
    client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=account_a.bearer)
    urls = [
        "/login", "/customers", "/customers/print", "/customers/export.csv", "/customers/new", "/customers/trash",
        "/users", "/users/print", "/users/export.csv", "/integrations", "/static/app.css", "/static/app.js",
        "/schema/swagger", "/schema/openapi.json", "/api/customers/", "/no-such-page",
    ]
    for url in urls:
        response = (client if url.startswith("/api/") else admin).get(url, headers=account_a.bearer if url.startswith("/api/") else None)
        content_type = response.headers["content-type"]
        assert content_type.lower().count("charset") <= 1, (url, content_type)
        assert response.status_code in (200, 404), (url, response.status_code)


def test_no_page_under_schema_runs_inline_script(app, client):
    """``/schema/oauth2-redirect.html`` ran an inline script, which the page's CSP blocks; this API
    offers no OAuth2 flow that comes back to a browser page, so the page is gone."""
    assert client.get("/schema/oauth2-redirect.html").status_code == 404
    pages = [route.path for route in app.routes if route.path.startswith("/schema") and "{" not in route.path]
    assert "/schema/swagger" in pages
    for path in pages:
        response = client.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert "script-src 'self'" in response.headers["content-security-policy"], path
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text), path
