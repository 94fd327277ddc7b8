"""Rate limits: 20 requests a second per API client and per signed-in user,
answered with 429, the error envelope (or error page) and Retry-After; counted
in the database, so that several workers share them. Sign-in attempts are
limited per account and per address."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.security import assert_envelope, get_token, make_account, make_app

pytestmark = pytest.mark.usefixtures("rate_limit_on", "frozen_clock")


class Clock:
    """The limiter's clock, held still inside one second however slow the machine is;
    each test gets seconds of its own (microseconds since the epoch, read as seconds),
    so that no count of an earlier test (the token endpoint's, per address) is still in its window."""

    def __init__(self) -> None:
        self.now = float(time.time_ns() // 1000) + 0.25

    def __call__(self) -> float:
        return self.now

    def next_second(self) -> None:
        self.now += 1.0


@pytest.fixture
def frozen_clock(monkeypatch) -> Clock:
    from app.shared import ratelimit

    clock = Clock()
    monkeypatch.setattr(ratelimit, "clock", clock)
    return clock


@pytest.fixture
def clean_login_failures():
    """Failed sign-ins from the test client's address count for every test: remove them after."""
    yield
    from sqlalchemy import delete

    from app.database.engine import session_scope
    from app.web.models import LoginFailure

    with session_scope() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.key == "ip:testclient"))


def burst(call, count: int) -> list:
    return [call() for _ in range(count)]


def test_the_21st_request_in_a_second_with_one_token_is_429_with_envelope_and_retry_after(client, account_a):
    responses = burst(lambda: client.get("/api/customers/?limit=1", headers=account_a.bearer), 25)

    statuses = [r.status_code for r in responses]
    assert statuses[:20] == [200] * 20, statuses
    assert 429 in statuses[20:], statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert_envelope(limited, 429, "common.rate_limited")
    assert limited.headers["retry-after"] == "1"


def test_the_limit_is_per_token_and_lifts_in_the_next_second(client, account_a, account_b, frozen_clock):
    burst(lambda: client.get("/api/customers/?limit=1", headers=account_a.bearer), 25)
    assert client.get("/api/customers/?limit=1", headers=account_b.bearer).status_code == 200

    frozen_clock.next_second()
    assert client.get("/api/customers/?limit=1", headers=account_a.bearer).status_code == 200


def test_an_oauth_app_is_limited_as_one_client_whatever_the_number_of_its_tokens(client, account_a):
    app = make_app(account_a.id)
    tokens = [get_token(client, app)["access_token"] for _ in range(3)]

    responses = burst(lambda: [client.get("/api/customers/?limit=1", headers={"Authorization": f"Bearer {t}"}) for t in tokens], 9)

    statuses = [r.status_code for group in responses for r in group]
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 7, statuses


def test_a_signed_in_user_is_limited_too_with_an_error_page_and_retry_after(signed_in, account_a):
    user = signed_in(account_a.staff_email)

    responses = burst(lambda: user.get("/customers"), 23)

    statuses = [r.status_code for r in responses]
    assert statuses[:20] == [200] * 20, statuses
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    assert "Too many requests" in limited[0].text
    assert int(limited[0].headers["retry-after"]) >= 1
    htmx = user.get("/customers", headers={"HX-Request": "true"})
    assert htmx.status_code in (200, 429)


def test_workers_share_the_count_as_it_lives_in_the_database(account_a):
    """Two application instances (as two worker processes would be) count into the same window."""
    from litestar.testing import TestClient

    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as one, TestClient(create_app(), raise_server_exceptions=False) as two:
        responses = burst(lambda: (one.get("/api/customers/?limit=1", headers=account_a.bearer), two.get("/api/customers/?limit=1", headers=account_a.bearer)), 12)

    statuses = [r.status_code for pair in responses for r in pair]
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 4, statuses


def test_the_counter_is_one_row_per_client_and_resets_with_the_window():
    from sqlalchemy import func, select

    from app.database.engine import session_scope
    from app.shared import ratelimit

    key = f"test:{time.time_ns()}"  # hit() given explicit times: the frozen clock plays no part
    window = 1_000_000.0
    verdicts = [ratelimit.hit(key, limit=3, now=window + 0.1 * i) for i in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4, 5]
    assert verdicts[-1].retry_after == 1
    assert ratelimit.hit(key, limit=3, now=window + 1.0).allowed
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ratelimit.RateLimitCounter).where(ratelimit.RateLimitCounter.key == key)) == 1


def test_the_token_endpoint_is_limited_per_address(client, account_a):
    app = make_app(account_a.id)

    responses = burst(lambda: client.post("/api/auth/token/", data={"grant_type": "client_credentials"}, headers=app.basic), 22)

    statuses = [r.status_code for r in responses]
    assert statuses[:20] == [200] * 20
    assert_envelope(responses[-1], 429, "common.rate_limited")


def test_sign_in_is_locked_per_account_after_five_failures_with_the_same_answer_for_unknown_emails(new_client, clean_login_failures):
    account = make_account()
    email = account.admin_email
    client = new_client()

    def attempt(who: str, password: str):
        page = client.get("/login")
        import re

        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        return client.post("/login", data={"email": who, "password": password, "_csrf_token": token}, follow_redirects=False)

    failures = [attempt(email, "wrong password, surely") for _ in range(5)]
    assert [r.status_code for r in failures] == [400] * 5
    locked = attempt(email, "correct horse battery")  # even the right password, while locked
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    # An unknown email gets exactly the same treatment: nothing tells which emails exist.
    unknown = f"nobody-{time.time_ns()}@example.com"
    unknown_failures = [attempt(unknown, "wrong password, surely") for _ in range(5)]
    assert [r.status_code for r in unknown_failures] == [400] * 5
    unknown_locked = attempt(unknown, "correct horse battery")
    assert unknown_locked.status_code == 429
    assert _message(unknown_locked.text) == _message(locked.text)


def _message(html: str) -> str:
    import re

    return re.search(r'role="alert">([^<]*)<', html).group(1)


def test_sign_in_is_locked_per_address_across_accounts(new_client, clean_login_failures):
    from app.web import throttle

    client = new_client()
    address = "testclient"  # what the TestClient's requests come from
    from app.database.engine import session_scope

    with session_scope() as session:
        for n in range(throttle.MAX_FAILURES * 4):
            assert isinstance(throttle.attempt(session, f"spray-{n}-{time.time_ns()}@example.com", address), list)
    account = make_account()
    page = client.get("/login")
    import re

    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": account.admin_email, "password": "correct horse battery", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text


def test_high_limits_are_counted_in_leases_that_never_add_up_to_more_than_the_limit(monkeypatch):
    """Two workers (each its own lease memory) share a limit of 100: at most 100 pass in
    the window, at most one lease's worth per worker is lost, and the database row
    counts claims, not single requests."""
    from sqlalchemy import select

    from app.database.engine import session_scope
    from app.shared import ratelimit

    key = f"test:{time.time_ns()}"
    window = 2_000_000.0
    workers = [{}, {}]
    lease = 100 // ratelimit.LEASE_SHARE

    def requests(start: int, stop: int) -> int:
        allowed = 0
        for i in range(start, stop):
            monkeypatch.setattr(ratelimit, "_leases", workers[i % 2])
            allowed += ratelimit.hit(key, limit=100, now=window + 0.001 * i).allowed
        return allowed

    assert requests(0, 60) == 60
    with session_scope() as session:
        counted = session.scalar(select(ratelimit.RateLimitCounter.count).where(ratelimit.RateLimitCounter.key == key))
    assert counted % lease == 0 and counted // lease <= 60 // lease + 2  # one statement per lease claimed, not per request
    allowed = 60 + requests(60, 150)
    assert 100 - 2 * (lease - 1) <= allowed <= 100

    # The next window starts afresh for both workers.
    for worker in workers:
        monkeypatch.setattr(ratelimit, "_leases", worker)
        assert ratelimit.hit(key, limit=100, now=window + 1.0).allowed


def test_a_lease_answers_without_the_database_and_only_within_its_window(monkeypatch):
    from app.shared import ratelimit

    monkeypatch.setattr(ratelimit, "_leases", {})
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "100")
    now = 3_000_000.0
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    key = f"test:{time.time_ns()}"
    assert ratelimit.from_lease(key) is None  # nothing claimed yet
    assert ratelimit.hit(key).allowed  # claims a lease of 5
    served = [ratelimit.from_lease(key) for _ in range(5)]
    assert [v is not None and v.allowed for v in served] == [True, True, True, True, False]
    assert ratelimit.hit(key).allowed
    now += 1.0
    assert ratelimit.from_lease(key) is None  # the old window's lease is gone
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "20")  # low limits: every request goes to the database
    assert ratelimit.hit(key).allowed and ratelimit.from_lease(key) is None


def test_logging_out_is_never_limited_even_when_the_users_budget_is_spent(signed_in, account_a):
    """Someone flooding with a stolen session spends the user's budget: the user can still end every
    session ("Log out everywhere") and this one ("Log out")."""
    from tests.fixtures.security import csrf_of

    thief, owner = signed_in(account_a.staff_email), signed_in(account_a.staff_email)
    assert 429 in [r.status_code for r in burst(lambda: thief.get("/customers"), 25)]
    assert owner.get("/customers").status_code == 429  # the budget is the user's, whichever session

    everywhere = owner.post("/logout/everywhere", data={"_csrf_token": csrf_of(owner)}, follow_redirects=False)

    assert everywhere.status_code == 303 and everywhere.headers["location"] == "/login"
    assert thief.get("/customers", follow_redirects=False).status_code in (302, 303, 401)  # signed out
    again = signed_in(account_a.staff_email)
    assert 429 in [r.status_code for r in burst(lambda: again.get("/customers"), 5)]  # the same second: still spent
    out = again.post("/logout", data={"_csrf_token": csrf_of(again)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert again.get("/customers", follow_redirects=False).status_code in (302, 303, 401)
