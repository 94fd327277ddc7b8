"""What the tests of people editing in the back office at once share: creating a customer,
opening its row for inline editing, and telling a saved row from the conflict view."""

from __future__ import annotations

import httpx

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
