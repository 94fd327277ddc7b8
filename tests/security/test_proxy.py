"""Behind a reverse proxy: ``clientele run`` believes X-Forwarded-For and X-Forwarded-Proto from the
addresses in CLIENTELE_TRUSTED_PROXIES only. The server runs as deployed (``clientele run``), trusting
127.0.0.1; the proxy's requests come from 127.0.0.1, anyone else's from 127.0.0.2 (the loopback
network answers to every 127.x address)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.web.throttle import MAX_FAILURES
from tests.fixtures.security import PASSWORD, make_account
from tests.server import serve

ADDRESS_LIMIT = MAX_FAILURES * 4  # failed sign-ins from one address before it is locked out


@pytest.fixture(scope="module")
def proxied_server(database: str) -> Iterator[str]:
    with serve("proxy", command="clientele", env={"CLIENTELE_TRUSTED_PROXIES": "127.0.0.1"}) as base_url:
        yield base_url


def _client(base_url: str, source: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30, transport=httpx.HTTPTransport(local_address=source))


def _sign_in(client: httpx.Client, email: str, password: str, headers: dict[str, str]) -> httpx.Response:
    page = client.get("/login", headers=headers)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"email": email, "password": password, "_csrf_token": token}, headers=headers)


def _fail_from(client: httpx.Client, headers_of_attempt) -> None:
    """As many failed sign-ins as lock an address out, each for another unknown email."""
    for attempt in range(ADDRESS_LIMIT):
        response = _sign_in(client, f"nobody-{uuid.uuid4().hex[:8]}@example.com", "wrong password", headers_of_attempt(attempt))
        assert response.status_code == 400, response.text[:300]


def test_failed_sign_ins_behind_the_proxy_lock_out_that_client_only(proxied_server):
    user = make_account().admin_email
    with _client(proxied_server, "127.0.0.1") as proxy:
        _fail_from(proxy, lambda _: {"X-Forwarded-For": "198.51.100.7"})
        locked = _sign_in(proxy, user, PASSWORD, {"X-Forwarded-For": "198.51.100.7"})
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        # Another client behind the same proxy signs in.
        other = _sign_in(proxy, user, PASSWORD, {"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 303, other.text[:300]


def test_a_forwarded_address_from_anyone_else_is_ignored(proxied_server):
    user = make_account().admin_email
    with _client(proxied_server, "127.0.0.2") as outsider:
        # A new made-up address for each guess does not escape the lock-out of the real one.
        _fail_from(outsider, lambda attempt: {"X-Forwarded-For": f"203.0.113.{attempt + 1}"})
        locked = _sign_in(outsider, user, PASSWORD, {"X-Forwarded-For": "203.0.113.200"})
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    with _client(proxied_server, "127.0.0.1") as proxy:
        assert _sign_in(proxy, user, PASSWORD, {"X-Forwarded-For": "203.0.113.200"}).status_code == 303


def test_https_at_the_proxy_gets_secure_cookies_and_hsts(proxied_server):
    with _client(proxied_server, "127.0.0.1") as proxy:
        response = proxy.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"})
    assert response.status_code == 200
    assert response.headers["strict-transport-security"].startswith("max-age=")
    cookies = response.headers.get_list("set-cookie")
    assert cookies and all("; Secure" in cookie for cookie in cookies), cookies


def test_a_forwarded_scheme_from_anyone_else_is_ignored(proxied_server):
    with _client(proxied_server, "127.0.0.2") as outsider:
        response = outsider.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers
    cookies = response.headers.get_list("set-cookie")
    assert cookies and not any("secure" in cookie.lower() for cookie in cookies), cookies
