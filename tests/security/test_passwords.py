"""Passwords: argon2id hashes, a minimum length everywhere a password is set,
and no account enumeration through the sign-in's messages or timing."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.fixtures.security import PASSWORD, csrf_of, make_account


def test_passwords_are_stored_as_argon2id_hashes_only(account_a):
    from sqlalchemy import select

    from app.accounts.models import User
    from app.database.engine import session_scope

    email = account_a.admin_email
    with session_scope() as session:
        stored = session.scalar(select(User.password_hash).where(User.email == email))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_the_service_refuses_a_short_password(account_a):
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    with session_scope() as session, pytest.raises(ValueError, match="at least 10"):
        accounts.create_user(session, account_a.id, f"short-{uuid.uuid4().hex[:8]}@example.com", "123456789")


def test_the_users_page_refuses_a_short_password(signed_in, account_a):
    admin = signed_in(account_a.admin_email)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"

    response = admin.post("/users", data={"email": email, "name": "N", "role": "staff", "password": "short", "_csrf_token": csrf_of(admin)})

    assert response.status_code == 422
    assert "At least 10 characters" in response.text
    assert email not in admin.get("/users").text


def _attempt(client, email: str, password: str):
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password, "_csrf_token": token}, follow_redirects=False)
    return response


def _alert(html: str) -> str:
    return re.search(r'role="alert">([^<]*)<', html).group(1)


@pytest.fixture
def forget_failures():
    yield
    from sqlalchemy import delete

    from app.database.engine import session_scope
    from app.web.models import LoginFailure

    with session_scope() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.key == "ip:testclient"))


def test_unknown_email_and_wrong_password_get_the_same_answer(new_client, forget_failures):
    account = make_account()
    client = new_client()

    wrong = _attempt(client, account.admin_email, "not the password at all")
    unknown = _attempt(client, f"nobody-{uuid.uuid4().hex}@example.com", "not the password at all")

    assert wrong.status_code == unknown.status_code == 400
    assert _alert(wrong.text) == _alert(unknown.text) == "Email or password is wrong."
    assert set(wrong.cookies) == set(unknown.cookies)


def test_unknown_email_and_wrong_password_cost_the_same_argon2_check(new_client, forget_failures, monkeypatch):
    """Timing tells nothing when both answers cost the same work: exactly one argon2 verify, of a hash with the
    same parameters (a dummy hash for an unknown email). Counted at argon2's own PasswordHasher, not by a clock."""
    from argon2 import PasswordHasher, extract_parameters

    verified = []
    real_verify = PasswordHasher.verify

    def counted(self, hash, password):
        verified.append(extract_parameters(hash))
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    account = make_account()
    client = new_client()
    costs = {}
    for kind, email, password in (
        ("wrong password", account.admin_email, "not the password at all"),
        ("unknown email", f"nobody-{uuid.uuid4().hex}@example.com", "not the password at all"),
        ("right password", account.admin_email, PASSWORD),
    ):
        verified.clear()
        response = _attempt(client, email, password)
        assert response.status_code == (303 if kind == "right password" else 400), kind
        assert len(verified) == 1, (kind, verified)
        costs[kind] = verified[0]

    assert costs["unknown email"] == costs["wrong password"] == costs["right password"]


def test_signing_in_as_another_accounts_user_of_the_same_email_never_resets_its_lock(signed_in, new_client, forget_failures):
    """An email may belong to users of several accounts: an attacker adds the victim's email to their
    own shop and signs in with it between guesses at the victim's password. The email stays locked
    after 5 wrong guesses all the same."""
    from sqlalchemy import delete

    from app.database.engine import session_scope
    from app.web.models import LoginFailure

    with session_scope() as session:  # this client's address starts with no failures of other tests
        session.execute(delete(LoginFailure).where(LoginFailure.key == "ip:testclient"))
    victim, attacker = make_account(), make_account()
    email, own_password = victim.admin_email, "the attacker's own password"
    admin = signed_in(attacker.admin_email)
    added = admin.post("/users", data={"email": email, "name": "Twin", "role": "staff", "password": own_password, "_csrf_token": csrf_of(admin)})
    assert added.status_code in (200, 303), added.text[:500]
    client = new_client()
    assert _attempt(client, email, own_password).status_code == 303  # the attacker's user of that email exists

    answers = []
    for guess in range(12):
        if guess and guess % 4 == 0:
            _attempt(client, email, own_password)  # the attacker's own sign-in, between guesses
        answers.append(_attempt(client, email, f"guess number {guess}").status_code)

    assert answers == [400] * 5 + [429] * 7
