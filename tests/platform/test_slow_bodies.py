"""A write whose body arrives slowly, or never, holds no write slot (app/database/write_slots.py): clients of
two shops that start writes and stay silent in the middle of their bodies do not stop another
shop's writes, on SQLite (one write slot a process) as on PostgreSQL (a few slots per shop)."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Shop, make_shop
from tests.fixtures.concurrency import PASSWORD
from tests.server import serve

SILENT_PER_SHOP = 12  # more than every write slot of a process, on either database


@pytest.fixture(scope="module")
def one_worker(database: str) -> Iterator[str]:
    """One process, so every silent client meets the same slots; a short lock timeout, so a write
    that finds no slot answers 503 soon."""
    env = {"CLIENTELE_RATE_LIMIT": "0", "CLIENTELE_LOCK_TIMEOUT": "2"}
    with serve("slow-bodies", workers=1, env=env) as base_url:
        yield base_url


def _silent_write(base_url: str, path: str, headers: dict[str, str]) -> socket.socket:
    """A write that announces a 100-byte JSON body, sends ten bytes of it and then nothing."""
    address = urlsplit(base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", "Content-Type: application/json", "Content-Length: 100"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b'{"first_na')
    return sock


def _signed_in(base_url: str, shop: Shop) -> httpx.Client:
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, shop.id, email, PASSWORD, role="admin")
    client = httpx.Client(base_url=base_url, timeout=30)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token}).status_code == 303
    client.headers["x-csrftoken"] = token
    return client


def test_silent_writes_of_two_shops_hold_no_slot_from_another_shops_writes(one_worker: str) -> None:
    attackers = [make_shop(), make_shop()]
    page = _signed_in(one_worker, attackers[1])
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
    silent: list[socket.socket] = []
    victim = make_shop()
    try:
        for shop in attackers:  # through the API's token
            silent += [_silent_write(one_worker, "/api/customers/", shop.headers) for _ in range(SILENT_PER_SHOP)]
        # and through the back office's session
        page_headers = {"Cookie": cookie, "X-CSRFToken": page.headers["x-csrftoken"]}
        silent += [_silent_write(one_worker, "/customers/", page_headers) for _ in range(SILENT_PER_SHOP)]
        time.sleep(1)  # the server has read every request's head by now
        with httpx.Client(base_url=one_worker, headers=victim.headers, timeout=30) as client:
            for index in range(3):
                created = client.post("/api/customers/", json={"first_name": "Ada", "last_name": f"Victim {index}"})
                assert created.status_code == 201, created.text
    finally:
        for sock in silent:
            sock.close()
        page.close()
