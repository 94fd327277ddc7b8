"""Back-office sessions: bound to the user, the account and the user's epoch they were issued
for; only ids the server issued; a new id at every sign-in; ended at once and for good by a
sign-out, "Log out everywhere", a new password or role, or the user's deletion. And ids that
sessions, tokens and grants refer to are never handed out again."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from tests.fixtures.security import PASSWORD, csrf_of, make_account, sign_in

SESSION_COOKIE = "clientele_session"


def _user_id(email: str, account_id: int | None = None) -> int:
    from app.accounts.models import User
    from app.database.engine import session_scope

    with session_scope() as session:
        stmt = select(User.id).where(User.email == email)
        if account_id is not None:
            stmt = stmt.where(User.account_id == account_id)
        return session.scalar(stmt)


def _stored(session_id: str) -> bytes | None:
    from app.database.engine import read_connection
    from app.web.models import WebSession

    with read_connection() as conn:
        return conn.scalar(select(WebSession.value).where(WebSession.key == f"sessions:{session_id}"))


def _create_user(admin, email: str, role: str = "staff", password: str = PASSWORD):
    return admin.post(
        "/users", data={"email": email, "name": "New", "role": role, "password": password, "_csrf_token": csrf_of(admin)},
        follow_redirects=False,
    )


def _plant(client, value: str) -> None:
    """Set the session cookie as the server would (same domain), so that it replaces the server's."""
    client.cookies.set(SESSION_COOKIE, value, domain=client.base_url.host)


def _signed_in(client) -> bool:
    response = client.get("/customers", follow_redirects=False)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


# -- ids are never reused ------------------------------------------------------------------------


def _new_row(model, account_id: int, app_id: int):
    from app.accounts.models import Account, ApiToken, User
    from app.database.base import utcnow
    from app.integrations.models import OAuthApp, OAuthToken

    unique = uuid.uuid4().hex
    return {
        Account: lambda: Account(name=f"Shop {unique}", timezone="Europe/Berlin", customer_seq=0),
        User: lambda: User(account_id=account_id, email=f"{unique}@example.com", password_hash="x", role="staff"),
        ApiToken: lambda: ApiToken(account_id=account_id, token_hash=unique * 2, prefix="clt_", scopes="customers"),
        OAuthApp: lambda: OAuthApp(account_id=account_id, name="App", client_id=unique, secret_hash=unique * 2, scopes="customers"),
        OAuthToken: lambda: OAuthToken(
            app_id=app_id, account_id=account_id, kind="access", token_hash=unique * 2, prefix="cla_", family=unique,
            scopes="customers", expires_at=utcnow() + timedelta(hours=1),
        ),
    }[model]()


@pytest.mark.parametrize("table", ["accounts", "users", "api_tokens", "oauth_apps", "oauth_tokens"])
def test_the_id_of_a_deleted_row_is_never_handed_out_again(table):
    """Every table whose ids a session, a token or a grant refers to: delete the newest row, add
    one, and the new row gets a new id (SQLite gave the deleted id again without AUTOINCREMENT)."""
    from app.database.engine import session_scope
    from app.database.models import Base
    from tests.fixtures.security import make_app

    account = make_account()
    app = make_app(account.id)
    model = next(m.class_ for m in Base.registry.mappers if m.local_table.name == table)
    with session_scope() as session:
        row = _new_row(model, account.id, app.id)
        session.add(row)
        session.flush()
        deleted_id = row.id
        session.delete(row)
    with session_scope() as session:
        again = _new_row(model, account.id, app.id)
        session.add(again)
        session.flush()
        assert again.id > deleted_id


def test_a_deleted_users_cookie_never_opens_another_account(signed_in, new_client):
    """The repro: A's staff user keeps a cookie, A's admin deletes them, B's admin creates a new
    admin; the old cookie must not open B (it did on SQLite, where B's admin got the same id)."""
    a, b = make_account(), make_account()
    admin_a, admin_b = signed_in(a.admin_email), signed_in(b.admin_email)
    staff_email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    assert _create_user(admin_a, staff_email).status_code == 303
    staff = new_client()
    sign_in(staff, staff_email)
    assert _signed_in(staff)
    staff_id = _user_id(staff_email)

    deleted = admin_a.post(f"/users/{staff_id}/delete", data={"_csrf_token": csrf_of(admin_a)}, follow_redirects=False)
    assert deleted.status_code == 303 and _user_id(staff_email) is None
    assert not _signed_in(staff)  # ended at once

    newcomer = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    assert _create_user(admin_b, newcomer, role="admin").status_code == 303
    assert _user_id(newcomer) != staff_id
    for path in ("/customers", "/users"):
        assert staff.get(path, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("tamper", ["another account", "another epoch", "no account", "a string id"])
def test_a_session_is_refused_unless_its_user_account_and_epoch_match(signed_in, tamper):
    import json

    from app.database.engine import ephemeral_write
    from app.web.models import WebSession

    a, b = make_account(), make_account()
    client = signed_in(a.admin_email)
    session_id = client.cookies[SESSION_COOKIE]
    data = json.loads(_stored(session_id))
    assert data["user_id"] == _user_id(a.admin_email)
    if tamper == "another account":
        data["account_id"] = b.id
    elif tamper == "another epoch":
        data["epoch"] += 1
    elif tamper == "no account":
        del data["account_id"]
    else:
        data["user_id"] = str(data["user_id"])
    with ephemeral_write() as conn:
        conn.execute(update(WebSession).where(WebSession.key == f"sessions:{session_id}").values(value=json.dumps(data).encode()))

    assert client.get("/customers", follow_redirects=False).status_code == 303
    assert _stored(session_id) is None  # refused, and ended


# -- only ids the server issued, a new one at every sign-in -------------------------------------------


def test_sign_in_issues_a_new_session_id_and_ends_the_old_one(signed_in, new_client):
    a = make_account()
    client = signed_in(a.staff_email)
    before = client.cookies[SESSION_COOKIE]

    sign_in(client, a.admin_email)  # signed in already: signing in again, as someone else
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    assert _stored(before) is None
    old = new_client()
    _plant(old, before)
    assert not _signed_in(old)


@pytest.mark.parametrize("planted", ["f" * 64, "0123456789abcdef" * 4, "attacker-chosen"])
def test_a_made_up_session_id_is_never_adopted(new_client, planted):
    """Session fixation: an attacker plants an id in the victim's browser, the victim signs in;
    the server must never sign in under that id, nor store anything under it."""
    a = make_account()
    victim = new_client()
    _plant(victim, planted)
    assert victim.get("/login").status_code == 200
    assert _stored(planted) is None
    sign_in(victim, a.admin_email)
    assert victim.cookies[SESSION_COOKIE] != planted
    assert _stored(planted) is None
    attacker = new_client()
    _plant(attacker, planted)
    assert not _signed_in(attacker)


ODD = ["", "null", "x", "ä", "%00", "\\", "a;b", "'", "<script>", "ǅ" * 3, "🙂"]
LENGTHS = [1, 63, 64, 65, 127, 128, 129, 130, 150, 200, 256, 300, 1000, 4000]


@pytest.mark.parametrize("value", [*ODD, *("a" * n for n in LENGTHS), *("F" * n for n in (64, 130))],
                         ids=lambda v: f"{v[:8]}…{len(v)}")
def test_any_session_cookie_value_gets_an_anonymous_session_never_a_500(app, value):
    """Raw cookie headers of every length and odd characters (on PostgreSQL, 130 to 300 characters
    made /login answer 500): an anonymous visitor, nothing stored under that value."""
    from litestar.testing import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        for path, status in (("/login", 200), ("/customers", 303), ("/users", 303)):
            response = client.get(path, headers={"Cookie": f"{SESSION_COOKIE}={value}".encode()}, follow_redirects=False)
            assert response.status_code == status, (path, response.status_code, response.text[:300])
            given = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
            # at most: forget it (emptied, expired at once)
            assert all(c.split(";")[0] == f'{SESSION_COOKIE}=""' and "Max-Age=0" in c for c in given), given
        form = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        posted = client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12, "_csrf_token": token},
                             headers={"Cookie": f"{SESSION_COOKIE}={value}; clientele_csrf={client.cookies['clientele_csrf']}".encode()})
        assert posted.status_code in (400, 429), posted.status_code
    if value and len(value) <= 120:
        assert _stored(value) is None


# -- ending sessions ---------------------------------------------------------------------------------


def test_log_out_everywhere_ends_every_session_of_the_user_only(signed_in):
    a = make_account()
    laptop, phone, colleague = signed_in(a.admin_email), signed_in(a.admin_email), signed_in(a.staff_email)
    page = laptop.get("/customers")
    # A plain form beside "Log out", with its CSRF token: it works without JavaScript.
    assert re.search(r'<form method="post" action="/logout/everywhere">\s*<input type="hidden" name="_csrf_token" value="[^"]+">\s*'
                     r'<button class="link" type="submit">Log out everywhere</button>', page.text)

    refused = laptop.post("/logout/everywhere", data={}, follow_redirects=False)
    assert refused.status_code == 403 and _signed_in(phone)

    response = laptop.post("/logout/everywhere", data={"_csrf_token": csrf_of(laptop)})
    assert response.status_code == 200 and "Logged out on every device." in response.text
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert _signed_in(colleague)
    sign_in(phone, a.admin_email)  # and signing in again works
    assert _signed_in(phone)


def _edit_user(admin, user_id: int, **changes):
    page = admin.get(f"/users/{user_id}/edit")
    assert page.status_code == 200
    current = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page.text).group(1) for name in ("email", "name")}
    role = re.search(r'<option selected value="(\w+)"|<option value="(\w+)" selected', page.text)
    data = {**current, "role": (role.group(1) or role.group(2)) if role else "staff", "password": "", "_csrf_token": csrf_of(admin)}
    return admin.post(f"/users/{user_id}/edit", data={**data, **changes}, follow_redirects=False)


@pytest.mark.parametrize("change", ["password", "role"])
def test_a_new_password_or_role_ends_the_users_sessions(signed_in, change):
    a = make_account()
    admin = signed_in(a.admin_email)
    staff = signed_in(a.staff_email)
    other = signed_in(a.staff_email)
    changes = {"password": "a brand new password"} if change == "password" else {"role": "admin"}

    response = _edit_user(admin, _user_id(a.staff_email), **changes)
    assert response.status_code == 303, response.text[:500]
    assert not _signed_in(staff) and not _signed_in(other)
    assert _signed_in(admin)


def test_changing_ones_own_password_ends_the_other_sessions_and_renews_this_ones_id(signed_in, new_client):
    a = make_account()
    here, elsewhere = signed_in(a.admin_email), signed_in(a.admin_email)
    before = here.cookies[SESSION_COOKIE]

    response = _edit_user(here, _user_id(a.admin_email), password="my new password!")
    assert response.status_code == 303, response.text[:500]
    assert here.cookies[SESSION_COOKIE] != before
    assert _stored(before) is None
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    replay = new_client()
    _plant(replay, before)
    assert not _signed_in(replay)


def test_sign_out_wins_over_the_requests_in_flight(live_server):
    """Requests of the session that are under way while it signs out (each changes the session:
    a flash message, "Select one or more customers first.") must not write it back; it was
    brought back 5 times out of 6."""
    a = make_account()
    served: list[str] = []  # where each request was sent: the list (signed in) or the sign-in form

    def flashing(index: int, session_id: str, token: str, start: threading.Barrier) -> None:
        with httpx.Client(base_url=live_server, timeout=30, cookies={SESSION_COOKIE: session_id, "clientele_csrf": token}) as worker:
            start.wait()
            for _ in range(3):
                response = worker.post("/customers/bulk", data={"action": "favourite", "_csrf_token": token})
                served.append(response.headers.get("location", str(response.status_code)))

    for attempt in range(6):
        client = httpx.Client(base_url=live_server, timeout=30)
        sign_in(client, a.admin_email)
        token = csrf_of(client)
        session_id = client.cookies[SESSION_COOKIE]
        start = threading.Barrier(9)
        threads = [threading.Thread(target=flashing, args=(i, session_id, token, start)) for i in range(8)]
        for thread in threads:
            thread.start()
        start.wait()
        client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        for thread in threads:
            thread.join()
        assert _stored(session_id) is None, f"try {attempt + 1}: the session was written back after signing out"
        replay = httpx.Client(base_url=live_server, timeout=30, cookies={SESSION_COOKIE: session_id})
        assert replay.get("/customers", follow_redirects=False).status_code == 303
        replay.close()
        client.close()
    # Requests did run with the session while it was ended, and every one was answered.
    assert any(location.startswith("/customers") for location in served), served
    assert all(location.startswith(("/customers", "/login")) for location in served), served


# -- other accounts' users stay unknown ----------------------------------------------------------------


def test_creating_a_user_reveals_nothing_about_other_accounts(signed_in, new_client):
    """Emails are unique per account: B's admin can create a user with an email A uses, and
    learns nothing; each signs in to their own account, the password deciding which."""
    from app.accounts.models import User
    from app.database.engine import session_scope

    a, b = make_account(), make_account()
    taken = a.staff_email
    admin_b = signed_in(b.admin_email)
    response = _create_user(admin_b, taken, password="another password entirely")
    assert response.status_code == 303, response.text[:500]
    assert "exists" not in admin_b.get("/users").text
    # Within one account an email is still one user.
    again = _create_user(admin_b, taken, password="another password entirely")
    assert again.status_code == 422 and f"A user with the email {taken} exists already." in again.text

    with session_scope() as session:
        assert sorted(session.scalars(select(User.account_id).where(User.email == taken))) == sorted([a.id, b.id])
    in_a, in_b = new_client(), new_client()
    sign_in(in_a, taken)
    sign_in(in_b, taken, "another password entirely")
    assert a.name in in_a.get("/customers").text and b.name not in in_a.get("/customers").text
    assert b.name in in_b.get("/customers").text and a.name not in in_b.get("/customers").text


@pytest.fixture(autouse=True)
def _forget_failures():
    yield
    from app.database.engine import session_scope
    from app.web.models import LoginFailure

    with session_scope() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_(["ip:testclient", "ip:127.0.0.1"])))
