"""An unreachable or locked database answers 503 with Retry-After, on the API and on pages,
instead of a 500: integrations and people can tell "try again" from "this is broken"."""

from __future__ import annotations

import re
import sqlite3

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.database.errors import RETRY_AFTER_UNAVAILABLE, database_unavailable
from tests.server import serve

NOWHERE = "postgresql://postgres@127.0.0.1:9/nowhere"  # nothing listens on port 9


@pytest.fixture(scope="module")
def dead_database_server():
    with serve("unavailable", env={"DATABASE_URL": NOWHERE}) as base_url:
        yield base_url


def test_api_answers_503_with_retry_after(dead_database_server):
    response = httpx.get(f"{dead_database_server}/api/customers/", headers={"Authorization": "Bearer abc"}, timeout=30)
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)
    error = response.json()["error"]
    assert error["key"] == "common.unavailable"
    assert "try again" in error["description"]


def test_page_answers_503_page_with_retry_after(dead_database_server):
    with httpx.Client(base_url=dead_database_server, timeout=30) as client:
        client.cookies.set("clientele_session", "a" * 64)  # an id of the form the server issues: the store is read
        response = client.get("/customers")
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)
        assert "Unavailable for a moment" in response.text and "cannot be reached" in response.text
        assert '<a class="button primary" href="/customers?q=a%20b">Try again</a>' in client.get("/customers?q=a%20b").text
        htmx = client.get("/customers", headers={"HX-Request": "true"})
        assert htmx.status_code == 503 and htmx.text.startswith("The database cannot be reached")


def test_sign_in_answers_503_page(dead_database_server):
    with httpx.Client(base_url=dead_database_server, timeout=30) as client:
        form = client.get("/login")
        assert form.status_code == 200  # the sign-in form itself needs no database
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        response = client.post("/login", data={"email": "a@example.com", "password": "x", "_csrf_token": token})
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)


def test_what_counts_as_unavailable(tmp_path):
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(NOWHERE, connect_timeout=2)
    assert database_unavailable(refused.value)

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with pytest.raises(OperationalError) as locked, engine.connect() as conn:
        conn.execute(text("SELECT * FROM t")).all()
    assert database_unavailable(locked.value)
    holder.execute("ROLLBACK")

    # A broken statement or schema is a bug, not a moment's unavailability.
    with pytest.raises(OperationalError) as missing, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table")).all()
    assert not database_unavailable(missing.value)
    assert not database_unavailable(ValueError("database is locked"))
    engine.dispose()
    holder.close()
