"""The phone numbers on the back office's pages: a list on the full edit page, the first one in the list row."""

from __future__ import annotations

from tests.fixtures.browser import create_customer
from tests.htmlforms import form_to

HTMX = {"HX-Request": "true"}
NUMBERS = {"phone_numbers-0-national_number": "030 1234567", "phone_numbers-1-national_number": "0171 2345678", "phone_numbers-2-national_number": "089 123456"}


def _numbers(account_id: int, customer_id: int) -> list[tuple[int, str]]:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        return [(p.id, p.national_number) for p in service.get(session, account_id, customer_id).phones]


def test_removing_the_first_number_on_the_full_page_keeps_the_others_ids(staff_client) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, company="Phones GmbH", **NUMBERS)
    before = _numbers(account_id, customer.id)
    action = f"/customers/{customer.id}/edit"

    form = form_to(client.get(action).text, action)
    removed = client.post(action, data={**form.data(), "_remove": "phone_numbers-0"})
    assert removed.status_code == 200
    saved = client.post(action, data=form_to(removed.text, action).data(), follow_redirects=False)

    assert saved.status_code == 303, saved.text[:2000]
    assert _numbers(account_id, customer.id) == before[1:]


def test_the_row_adds_a_first_number_to_a_customer_without_one(staff_client) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, company="No Phone GmbH")
    action = f"/customers/{customer.id}/row"
    form = form_to(client.get(f"{action}/edit", headers=HTMX).text, action)
    assert form.get("phone_numbers-0-national_number") == ""

    form.set("phone_numbers-0-national_number", "0049 30 7654321")
    saved = client.post(action, data=form.data(), headers=HTMX)

    assert saved.status_code == 200 and 'class="saved"' in saved.text, saved.text[:2000]
    assert [n for _, n in _numbers(account_id, customer.id)] == ["030 7654321"]
    unchanged = form_to(client.get(f"{action}/edit", headers=HTMX).text, action)
    assert client.post(action, data=unchanged.data(), headers=HTMX).status_code == 200
    assert [n for _, n in _numbers(account_id, customer.id)] == ["030 7654321"]
