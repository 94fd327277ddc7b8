"""Search input cleaned the same way everywhere, and printing and export that fail."""

from __future__ import annotations

import pytest

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

    from tests.fixtures.security import sign_in

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


def test_a_nul_in_the_search_of_every_list_is_cleaned(signed_in, account_a):
    """``?q=%00`` on the users list and export and the customers' trash answered 400 or dropped the
    connection on PostgreSQL: the NUL is dropped and the rest searched, as every search does."""
    admin = signed_in(account_a.admin_email)
    for path in ("/customers", "/customers/trash", "/customers/print", "/customers/export.csv", "/users", "/users/print", "/users/export.csv"):
        for q in ("%00", "ad%00min", "%00%00"):
            response = admin.get(f"{path}?q={q}")
            assert response.status_code == 200, (path, q, response.status_code)
    assert account_a.admin_email in admin.get("/users/export.csv?q=ad%00min").text
