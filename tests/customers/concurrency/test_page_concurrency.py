"""Two people editing the same customer in the back office (and the API beside them):
the second save is refused with the conflict view, the first one's value stays, and
"Overwrite" then wins on purpose."""

from __future__ import annotations

import re

import httpx

from tests.customers.concurrency.helpers import (
    stored,
    together,
    trashed,
)
from tests.customers.concurrency.pages import (
    CONFLICT,
    FIRST_PHONE,
    HTMX,
    _create,
    _is_conflict_row,
    _is_saved_row,
    _open_inline,
    _phone,
)
from tests.htmlforms import form_to


def test_second_inline_save_gets_the_conflict_and_overwrite_then_wins(page_session, staff):
    customer_id = _create(staff, company="Old company")
    alice, bob = page_session(staff), page_session(staff)
    form_a, form_b = _open_inline(alice, customer_id), _open_inline(bob, customer_id)
    assert form_a.get("_version") == form_b.get("_version") == "1"

    form_a.set("company", "Alice's company")
    saved = alice.post(f"/customers/{customer_id}/row", data=form_a.data(), headers=HTMX)
    assert _is_saved_row(saved), saved.text[:1000]
    assert "Alice&#39;s company" in saved.text or "Alice's company" in saved.text

    form_b.set("company", "Bob's company")
    refused = bob.post(f"/customers/{customer_id}/row", data=form_b.data(), headers=HTMX)
    assert _is_conflict_row(refused), refused.text[:1000]
    # Both values are shown side by side, and nothing of Bob's was saved.
    assert "Bob&#39;s company" in refused.text and "Alice&#39;s company" in refused.text
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Alice's company" and now["version"] == 2

    overwrite = form_to(refused.text, f"/customers/{customer_id}/row")
    assert overwrite.get("_version") == "2"
    assert overwrite.get("company") == "Bob's company"
    won = bob.post(f"/customers/{customer_id}/row", data=overwrite.data(), headers=HTMX)
    assert _is_saved_row(won), won.text[:1000]
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Bob's company" and now["version"] == 3


def test_a_stale_overwrite_is_itself_refused(page_session, staff):
    """Overwrite carries the version it was shown; a third change in between is not lost either."""
    customer_id = _create(staff)
    alice, bob = page_session(staff), page_session(staff)
    form_a, form_b = _open_inline(alice, customer_id), _open_inline(bob, customer_id)
    form_a.set("email", "alice@example.com")
    assert _is_saved_row(alice.post(f"/customers/{customer_id}/row", data=form_a.data(), headers=HTMX))
    form_b.set("email", "bob@example.com")
    refused = bob.post(f"/customers/{customer_id}/row", data=form_b.data(), headers=HTMX)
    assert _is_conflict_row(refused)
    overwrite = form_to(refused.text, f"/customers/{customer_id}/row")

    again = _open_inline(alice, customer_id)
    again.set("email", "alice.again@example.com")
    assert _is_saved_row(alice.post(f"/customers/{customer_id}/row", data=again.data(), headers=HTMX))

    stale = bob.post(f"/customers/{customer_id}/row", data=overwrite.data(), headers=HTMX)
    assert _is_conflict_row(stale)
    assert stored(staff.account_id, customer_id)["email"] == "alice.again@example.com"


def test_concurrent_sign_ins_never_fail(multi_worker_server, staff, api_client):
    """Eight people sign in at once while an integration writes: every sign-in succeeds."""
    from tests.fixtures.concurrency import PASSWORD

    writer = api_client(staff.shop)
    customer_id = _create(staff)

    def sign_in(index: int, barrier) -> list[int]:
        statuses = []
        if index == 8:
            barrier.wait()
            for n in range(40):
                statuses.append(writer.put(f"/api/customers/{customer_id}", json={"note": f"note {n}"}).status_code)
            return statuses
        with httpx.Client(base_url=multi_worker_server, timeout=30) as client:
            barrier.wait()
            for _ in range(3):
                client.cookies.clear()
                page = client.get("/login")
                statuses.append(page.status_code)
                token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
                if token is None:
                    continue
                answer = client.post("/login", data={"email": staff.email, "password": PASSWORD, "_csrf_token": token.group(1)})
                statuses.append(answer.status_code)
        return statuses

    results = together(9, sign_in)

    assert results[8] == [200] * 40
    statuses = [status for batch in results[:8] for status in batch]
    assert statuses == [200, 303] * 24, {s: statuses.count(s) for s in set(statuses)}


def test_concurrent_page_requests_never_fail(page_session, staff):
    """Eight people browsing the list at once: every page answers."""
    for n in range(5):
        _create(staff, company=f"Listed {n}")
    sessions = [page_session(staff) for _ in range(8)]

    def browse(index: int, barrier) -> list[int]:
        barrier.wait()
        return [sessions[index].get("/customers", params={"q": "Listed"}).status_code for _ in range(15)]

    statuses = [status for batch in together(8, browse) for status in batch]
    assert statuses == [200] * len(statuses), {s: statuses.count(s) for s in set(statuses)}


def test_racing_inline_saves_exactly_one_wins(page_session, staff):
    customers = [_create(staff) for _ in range(4)]
    sessions = [page_session(staff) for _ in range(6)]
    opened = [[_open_inline(client, customer_id) for customer_id in customers] for client in sessions]

    def save(index: int, barrier) -> list[httpx.Response]:
        for form in opened[index]:
            form.set("last_name", f"Writer {index}")
        barrier.wait()
        return [
            sessions[index].post(f"/customers/{customer_id}/row", data=form.data(), headers=HTMX)
            for customer_id, form in zip(customers, opened[index])
        ]

    results = together(6, save)

    for n, customer_id in enumerate(customers):
        responses = [batch[n] for batch in results]
        saved = [i for i, r in enumerate(responses) if _is_saved_row(r)]
        refused = [i for i, r in enumerate(responses) if _is_conflict_row(r)]
        assert len(saved) == 1 and len(refused) == 5, [r.status_code for r in responses]
        now = stored(staff.account_id, customer_id)
        assert now["last_name"] == f"Writer {saved[0]}" and now["version"] == 2


def _full_forms_open_then_alice_saves(page_session, staff):
    """Alice and Bob open the full edit form of one customer; Alice saves a note. Bob's form, still open."""
    customer_id = _create(staff, note="Original note")
    alice, bob = page_session(staff), page_session(staff)
    action = f"/customers/{customer_id}/edit"
    form_a = form_to(alice.get(action).text, action)
    form_b = form_to(bob.get(action).text, action)

    form_a.set("note", "Alice's note")
    saved = alice.post(action, data=form_a.data())
    assert saved.status_code == 303, saved.text[:1000]
    return customer_id, bob, action, form_b


def test_full_edit_conflict_is_409_and_overwrite_wins(page_session, staff):
    customer_id, bob, action, form_b = _full_forms_open_then_alice_saves(page_session, staff)

    form_b.set("note", "Bob's note")
    refused = bob.post(action, data=form_b.data())
    assert refused.status_code == 409
    assert CONFLICT in refused.text
    assert stored(staff.account_id, customer_id)["note"] == "Alice's note"

    won = bob.post(action, data=form_to(refused.text, action).data())
    assert won.status_code == 303, won.text[:1000]
    assert stored(staff.account_id, customer_id)["note"] == "Bob's note"


def test_a_change_meanwhile_is_not_lost_behind_a_validation_error_on_the_full_form(page_session, staff):
    """Bob's form shows an error after Alice saved: his corrected save must still meet her change."""
    customer_id, bob, action, form_b = _full_forms_open_then_alice_saves(page_session, staff)

    form_b.set("note", "Bob's note")
    form_b.set("email", "not an address")
    invalid = bob.post(action, data=form_b.data())
    assert invalid.status_code == 422
    again = form_to(invalid.text, action)
    assert again.get("_version") == "1"  # the version Bob's input is based on, not Alice's

    again.set("email", "")
    refused = bob.post(action, data=again.data())
    assert refused.status_code == 409 and CONFLICT in refused.text
    assert stored(staff.account_id, customer_id)["note"] == "Alice's note"


def test_a_change_meanwhile_is_not_lost_behind_a_validation_error_inline(page_session, staff, api_client):
    customer_id = _create(staff)
    browser = page_session(staff)
    form = _open_inline(browser, customer_id)
    assert api_client(staff.shop).put(f"/api/customers/{customer_id}", json={"phone_number": "030 111"}).status_code == 200

    form.set(FIRST_PHONE, "call me maybe")
    invalid = browser.post(f"/customers/{customer_id}/row", data=form.data(), headers=HTMX)
    assert invalid.status_code == 200 and "conflict-row" not in invalid.text
    again = form_to(invalid.text, f"/customers/{customer_id}/row")
    assert again.get("_version") == "1"

    again.set(FIRST_PHONE, "030 222")
    refused = browser.post(f"/customers/{customer_id}/row", data=again.data(), headers=HTMX)
    assert _is_conflict_row(refused), refused.text[:1000]
    assert _phone(stored(staff.account_id, customer_id)) == "030 111"


def test_inline_form_opened_before_an_api_write_gets_the_conflict(page_session, staff, api_client):
    customer_id = _create(staff)
    browser = page_session(staff)
    form = _open_inline(browser, customer_id)

    written = api_client(staff.shop).put(f"/api/customers/{customer_id}", json={"phone_number": "030 111"})
    assert written.status_code == 200

    form.set(FIRST_PHONE, "030 222")
    refused = browser.post(f"/customers/{customer_id}/row", data=form.data(), headers=HTMX)
    assert _is_conflict_row(refused)
    assert _phone(stored(staff.account_id, customer_id)) == "030 111"


def test_api_write_after_a_page_save_with_a_stale_etag_is_412(page_session, staff, api_client):
    customer_id = _create(staff)
    api = api_client(staff.shop)
    etag = api.get(f"/api/customers/{customer_id}").headers["etag"]
    browser = page_session(staff)
    form = _open_inline(browser, customer_id)
    form.set("company", "Saved in the back office")
    assert _is_saved_row(browser.post(f"/customers/{customer_id}/row", data=form.data(), headers=HTMX))

    refused = api.put(f"/api/customers/{customer_id}", json={"company": "From the API"}, headers={"If-Match": etag})
    assert refused.status_code == 412
    assert stored(staff.account_id, customer_id)["company"] == "Saved in the back office"


def test_saving_a_row_deleted_meanwhile_is_404_and_nothing_comes_back(page_session, staff, api_client):
    customer_id = _create(staff)
    browser = page_session(staff)
    form = _open_inline(browser, customer_id)
    assert api_client(staff.shop).delete(f"/api/customers/{customer_id}").status_code == 200

    form.set("company", "Too late")
    response = browser.post(f"/customers/{customer_id}/row", data=form.data(), headers=HTMX)
    assert response.status_code == 404
    assert stored(staff.account_id, customer_id) is None
    assert [t["company"] for t in trashed(staff.account_id, customer_id)] == [""]
