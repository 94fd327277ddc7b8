"""Two people editing the same customer in the back office (and the API beside them):
the second save is refused with the conflict view, the first one's value stays, and
"Overwrite" then wins on purpose."""

from __future__ import annotations

import re
import threading

import httpx

from tests.concurrency.helpers import (
    counters_agree,
    stored,
    together,
    trashed,
)
from tests.htmlforms import form_to

HTMX = {"HX-Request": "true"}
CONFLICT = "was changed meanwhile"
FIRST_PHONE = "phone_numbers-0-national_number"  # the first phone number's field, in the row and on the full page


def _create(staff, **fields) -> int:
    from app.customers import service
    from app.database.engine import session_scope

    if "phone_number" in fields:  # short for the first (and only) phone number
        fields["phone_numbers"] = [{"national_number": fields.pop("phone_number"), "country_code": "49", "type": "normal"}]
    with session_scope() as session:
        return service.create(session, staff.account_id, {"first_name": "Grace", "last_name": "Hopper", **fields}).id


def _phone(customer: dict) -> str:
    """The first phone number of a customer as ``stored`` gives it."""
    return customer["phone_numbers"][0]["national_number"] if customer["phone_numbers"] else ""


def _open_inline(client: httpx.Client, customer_id: int):
    """What htmx loads when "Edit" is clicked in a row: the inline form."""
    response = client.get(f"/customers/{customer_id}/row/edit", headers=HTMX)
    assert response.status_code == 200, response.text[:500]
    return form_to(response.text, f"/customers/{customer_id}/row")


def _is_conflict_row(response: httpx.Response) -> bool:
    return response.status_code == 200 and '<tr id="customers-' in response.text and 'class="editing conflict-row"' in response.text and CONFLICT in response.text


def _is_saved_row(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'class="saved"' in response.text and "conflict-row" not in response.text


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


def test_concurrent_sign_ins_never_fail(live_server, staff, api_client):
    """Eight people sign in at once while an integration writes: every sign-in succeeds."""
    from tests.concurrency.conftest import PASSWORD

    writer = api_client(staff.shop)
    customer_id = _create(staff)

    def sign_in(index: int, barrier) -> list[int]:
        statuses = []
        if index == 8:
            barrier.wait()
            for n in range(40):
                statuses.append(writer.put(f"/api/customers/{customer_id}", json={"note": f"note {n}"}).status_code)
            return statuses
        with httpx.Client(base_url=live_server, timeout=30) as client:
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


def _browse_until(browser: httpx.Client, done: threading.Event) -> None:
    """Keep reading the list, as a person does after a bulk action, until the writers are done."""
    for _ in range(200):
        if done.is_set():
            return
        response = browser.get("/customers")
        assert response.status_code == 200, response.status_code


class _Writers:
    """``with writers:`` around each writer's work; ``done`` is set when the last one leaves."""

    def __init__(self, count: int, done: threading.Event) -> None:
        self.count, self.done, self.lock = count, done, threading.Lock()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.count -= 1
            if self.count == 0:
                self.done.set()


def test_bulk_favourite_racing_single_edits_loses_neither(page_session, staff, api_client):
    ids = [_create(staff, company=f"Bulk {n}") for n in range(20)]
    browser = page_session(staff)
    clients = [api_client(staff.shop) for _ in range(4)]
    done = threading.Event()
    writers = _Writers(4, done)

    def work(index: int, barrier) -> dict[int, tuple[int, str]]:
        barrier.wait()
        if index == 4:
            response = browser.post("/customers/bulk", data={"action": "favourite", "confirm": "1", "ids": [str(i) for i in ids]})
            assert response.status_code == 303, response.text[:500]
            _browse_until(browser, done)
            return {}
        last: dict[int, tuple[int, str]] = {}
        with writers:
            rounds(index, last)
        return last

    def rounds(index: int, last: dict) -> None:
        for round_ in range(3):
            for customer_id in ids[index::4]:
                value = f"Edit {index}-{round_}"
                response = clients[index].put(f"/api/customers/{customer_id}", json={"last_name": value})
                assert response.status_code == 200, response.text
                last[customer_id] = (round_, value)

    results = together(5, work)

    for last in results[:4]:
        for customer_id, (_, value) in last.items():
            now = stored(staff.account_id, customer_id)
            assert now["last_name"] == value
            assert now["is_favourite"] is True
    (kept, real), (kept_favourites, real_favourites) = counters_agree(staff.account_id)
    assert kept == real == 20
    assert kept_favourites == real_favourites == 20


def test_bulk_delete_racing_single_edits_keeps_each_acknowledged_edit(page_session, staff, api_client):
    ids = [_create(staff, company=f"Doomed {n}") for n in range(20)]
    browser = page_session(staff)
    clients = [api_client(staff.shop) for _ in range(4)]
    done = threading.Event()
    writers = _Writers(4, done)

    def work(index: int, barrier) -> dict[int, str]:
        barrier.wait()
        if index == 4:
            response = browser.post("/customers/bulk", data={"action": "delete", "confirm": "1", "ids": [str(i) for i in ids]})
            assert response.status_code == 303, response.text[:500]
            assert re.search(r"Deleted 20 customers", browser.get("/customers").text)
            _browse_until(browser, done)
            return {}
        last: dict[int, str] = {}
        with writers:
            rounds(index, last)
        return last

    def rounds(index: int, last: dict) -> None:
        for round_ in range(3):
            for customer_id in ids[index::4]:
                value = f"Edit {index}-{round_}"
                response = clients[index].put(f"/api/customers/{customer_id}", json={"note": value})
                assert response.status_code in (200, 404), response.text
                if response.status_code == 200:
                    last[customer_id] = value

    results = together(5, work)

    for customer_id in ids:
        assert stored(staff.account_id, customer_id) is None
        assert len(trashed(staff.account_id, customer_id)) == 1
    for last in results[:4]:
        for customer_id, value in last.items():
            assert trashed(staff.account_id, customer_id)[0]["note"] == value
    (kept, real), (kept_favourites, real_favourites) = counters_agree(staff.account_id)
    assert kept == real == 0
    assert kept_favourites == real_favourites == 0


# -- three-way merge: a change meanwhile to other fields is kept, not undone ------------------------


def _colleague(staff):
    """Another admin of the same account, with a back-office session of their own."""
    import uuid

    from app.accounts import service as accounts
    from app.database.engine import session_scope
    from tests.concurrency.conftest import PASSWORD, Staff

    email = f"rosa-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, staff.account_id, email, PASSWORD, role="admin")
    return Staff(staff.account_id, staff.shop, email)


def _events(account_id: int, customer_id: int) -> list[tuple[str, dict]]:
    """(who, changes) of every update event of a customer, oldest first."""
    from sqlalchemy import select

    from app.customers.history import CustomerEvent
    from app.database.engine import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(CustomerEvent)
            .where(CustomerEvent.account_id == account_id, CustomerEvent.customer_id == customer_id, CustomerEvent.action == "update")
            .order_by(CustomerEvent.id)
        )
        return [(row.actor_label, dict(row.changes)) for row in rows]


def _message(html: str) -> str:
    found = re.search(r'<div class="message message-success">(.*?)</div>', html, re.S)
    return found.group(1) if found else ""


def test_inline_save_keeps_a_colleagues_company_changed_meanwhile(page_session, staff):
    """The employee's report: Rosa sets a new company, the admin (form opened before) changes only the phone."""
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    rosa_staff = _colleague(staff)
    admin, rosa = page_session(staff), page_session(rosa_staff)
    mine, theirs = _open_inline(admin, customer_id), _open_inline(rosa, customer_id)

    theirs.set("company", "Rosa's Blumenladen")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))
    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_saved_row(saved), saved.text[:1500]
    assert "Company" in _message(saved.text) and rosa_staff.email in _message(saved.text)
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Rosa's Blumenladen" and _phone(now) == "030 2" and now["version"] == 3
    assert _events(staff.account_id, customer_id) == [
        (rosa_staff.email, {"company": ["Old company", "Rosa's Blumenladen"]}),
        (staff.email, {"phone_numbers.0.national_number": ["030 1", "030 2"]}),
    ]


def test_full_page_save_keeps_a_colleagues_company_changed_meanwhile(page_session, staff):
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    rosa_staff = _colleague(staff)
    admin, rosa = page_session(staff), page_session(rosa_staff)
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    theirs = form_to(rosa.get(action).text, action)

    theirs.set("company", "Rosa's Blumenladen")
    assert rosa.post(action, data=theirs.data()).status_code == 303
    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(action, data=mine.data())

    assert saved.status_code == 303, saved.text[:1500]
    shown = admin.get(saved.headers["location"]).text
    assert "Company" in _message(shown) and rosa_staff.email in _message(shown)
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Rosa's Blumenladen" and _phone(now) == "030 2"
    assert _events(staff.account_id, customer_id) == [
        (rosa_staff.email, {"company": ["Old company", "Rosa's Blumenladen"]}),
        (staff.email, {"phone_numbers.0.national_number": ["030 1", "030 2"]}),
    ]


def test_inline_save_keeps_the_star_set_meanwhile(page_session, staff):
    customer_id = _create(staff, phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    mine = _open_inline(admin, customer_id)
    starred = rosa.post(f"/customers/{customer_id}/toggle/is_favourite", data={"value": "1"}, headers=HTMX)
    assert starred.status_code == 200

    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_saved_row(saved), saved.text[:1500]
    now = stored(staff.account_id, customer_id)
    assert now["is_favourite"] is True and _phone(now) == "030 2"
    assert counters_agree(staff.account_id)[1] == (1, 1)


def test_both_adding_a_shipping_address_keeps_both(page_session, staff):
    customer_id = _create(staff, shipping_address=[{"city": "Berlin"}])
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"

    def add_address(client: httpx.Client, city: str) -> None:
        form = form_to(client.get(action).text, action)
        added = client.post(action, data={**form.data(), "_add": "shipping_address"})
        assert added.status_code == 200
        return form_to(added.text, action), city

    (mine, my_city), (theirs, their_city) = add_address(admin, "Hamburg"), add_address(rosa, "Köln")
    theirs.set("shipping_address-1-city", their_city)
    assert rosa.post(action, data=theirs.data()).status_code == 303
    mine.set("shipping_address-1-city", my_city)
    saved = admin.post(action, data=mine.data())

    assert saved.status_code == 303, saved.text[:1500]
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Berlin", "Köln", "Hamburg"]


def test_a_true_conflict_lists_only_that_field_and_keeps_the_input(page_session, staff):
    """Both change the company; the admin also changed the phone, Rosa the email: only Company is asked about."""
    customer_id = _create(staff, company="Old company", phone_number="030 1", email="old@example.com")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    mine, theirs = _open_inline(admin, customer_id), _open_inline(rosa, customer_id)
    theirs.set("company", "Rosa's Blumenladen")
    theirs.set("email", "rosa@example.com")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))

    mine.set("company", "Admin GmbH")
    mine.set(FIRST_PHONE, "030 2")
    refused = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_conflict_row(refused), refused.text[:1500]
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Company"]
    assert "Admin GmbH" in table and "Rosa&#39;s Blumenladen" in table
    # Focus lands on taking the saved value, not on saving over it.
    assert re.search(r'<button[^>]*autofocus[^>]*>Take the saved value</button>', refused.text)
    kept = form_to(refused.text, f"/customers/{customer_id}/row")
    assert (kept.get("company"), kept.get(FIRST_PHONE), kept.get("email")) == ("Admin GmbH", "030 2", "rosa@example.com")
    assert stored(staff.account_id, customer_id)["company"] == "Rosa's Blumenladen"

    # Taking the saved value keeps the admin's phone in the form, and saving that keeps both.
    review = form_to(refused.text, f"/customers/{customer_id}/row?review=1")
    shown = admin.post(f"/customers/{customer_id}/row?review=1", data=review.data(), headers=HTMX)
    again = form_to(shown.text, f"/customers/{customer_id}/row")
    assert (again.get("company"), again.get(FIRST_PHONE)) == ("Rosa's Blumenladen", "030 2")
    assert _phone(stored(staff.account_id, customer_id)) == "030 1"  # nothing saved by looking
    assert _is_saved_row(admin.post(f"/customers/{customer_id}/row", data=again.data(), headers=HTMX))
    now = stored(staff.account_id, customer_id)
    assert (now["company"], _phone(now), now["email"]) == ("Rosa's Blumenladen", "030 2", "rosa@example.com")


def test_a_true_conflict_on_the_full_page_keeps_the_input_in_an_editable_form(page_session, staff):
    customer_id = _create(staff, note="Original", phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    theirs = form_to(rosa.get(action).text, action)
    theirs.set("note", "Rosa's note")
    assert rosa.post(action, data=theirs.data()).status_code == 303

    mine.set("note", "Admin's note")
    mine.set(FIRST_PHONE, "030 2")
    refused = admin.post(action, data=mine.data())

    assert refused.status_code == 409 and CONFLICT in refused.text
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Note"]
    kept = form_to(refused.text, action)
    assert (kept.get("note"), kept.get(FIRST_PHONE)) == ("Admin's note", "030 2")
    assert re.search(r'<textarea[^>]*name="note"', refused.text)  # editable, not hidden
    won = admin.post(action, data=kept.data())
    assert won.status_code == 303
    now = stored(staff.account_id, customer_id)
    assert (now["note"], _phone(now)) == ("Admin's note", "030 2")


def test_a_shipping_address_removed_meanwhile_stays_removed_and_my_change_to_the_list_is_asked_about(page_session, staff):
    customer_id = _create(staff, phone_number="030 1", shipping_address=[{"city": "Berlin"}, {"city": "Köln"}])
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    other = form_to(admin.get(action).text, action)
    removed = rosa.post(action, data={**form_to(rosa.get(action).text, action).data(), "_remove": "shipping_address-0"})
    assert rosa.post(action, data=form_to(removed.text, action).data()).status_code == 303
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Köln"]

    mine.set(FIRST_PHONE, "030 2")
    assert admin.post(action, data=mine.data()).status_code == 303
    now = stored(staff.account_id, customer_id)
    assert [a["city"] for a in now["shipping_address"]] == ["Köln"] and _phone(now) == "030 2"

    other.set("shipping_address-1-city", "Bonn")  # an address of the list Rosa changed: asked, not guessed
    refused = admin.post(action, data=other.data())
    assert refused.status_code == 409 and CONFLICT in refused.text
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Shipping addresses", "Shipping address 1: City", "Shipping address 2: City"]
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Köln"]


def test_a_form_opened_before_a_delete_and_restore_still_keeps_a_later_change(page_session, staff):
    """A restore counts as a change: its version follows the deleted one's, so a form opened before
    the delete does not look current when a colleague's change after the restore has the same number."""
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    first = _open_inline(rosa, customer_id)
    first.set("company", "Second company")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=first.data(), headers=HTMX))
    mine = _open_inline(admin, customer_id)  # at version 2
    assert rosa.post(f"/customers/{customer_id}/delete").status_code in (200, 303)
    assert rosa.post(f"/customers/trash/{customer_id}/restore").status_code in (200, 303)
    theirs = _open_inline(rosa, customer_id)
    theirs.set("company", "Rosa's Blumenladen")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))

    mine.set(FIRST_PHONE, "030 2")
    assert _is_saved_row(admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX))
    now = stored(staff.account_id, customer_id)
    assert (now["company"], _phone(now)) == ("Rosa's Blumenladen", "030 2")
