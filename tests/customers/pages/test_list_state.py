"""Edit, save, cancel and "Back to …" return to the list as the user left it (search, filters, sort, page),
for any resource: the list state travels through the edit page as a validated local ``next``."""

from __future__ import annotations

import re
import uuid
from html import unescape
from urllib.parse import quote

import pytest

from tests.fixtures.browser import create_customer


def _hidden_next(html: str) -> str:
    return unescape(re.search(r'<input type="hidden" name="next" value="([^"]*)">', html).group(1))


def _links(html: str, label: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a class="button secondary" href="([^"]*)">{label}</a>', html)]


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


def _form(html: str) -> dict[str, str]:
    """The edit form's inputs as the browser would post them (text inputs, ticked boxes, selected options)."""
    form = html[html.index('<form class="card full-form"'):]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or ('type="checkbox"' in tag and "checked" not in tag):
            continue
        fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.DOTALL):
        selected = [option for option in re.findall(r"<option [^>]*>", body) if re.search(r"\sselected\b", option)]
        fields[name] = unescape(re.search(r'value="([^"]*)"', selected[0]).group(1)) if selected else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.DOTALL):
        fields[name] = unescape(body).lstrip("\n")
    return fields


LIST = "/customers?q=Wolf&favourites=1&sort=city&dir=desc&page=2"


@pytest.mark.parametrize("arrive", ["next", "referer"])
def test_the_edit_page_carries_the_list_state_through_a_refusal_to_after_the_save(staff_client, arrive: str) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, first_name="Wanda", last_name="Wolf")
    if arrive == "next":
        page = client.get(f"/customers/{customer.id}/edit?next={quote(LIST, safe='')}")
    else:
        page = client.get(f"/customers/{customer.id}/edit", headers={"referer": f"{client.base_url}{LIST}"})

    assert page.status_code == 200
    assert _hidden_next(page.text) == LIST
    assert _links(page.text, "Back to customers") == _links(page.text, "Cancel") == [LIST]

    fields = _form(page.text)
    refused = client.post(f"/customers/{customer.id}/edit", data={**fields, "email": "not an email", "_csrf_token": _csrf(page.text)})
    assert refused.status_code == 422
    assert _hidden_next(refused.text) == LIST
    assert _links(refused.text, "Cancel") == [LIST]

    fields = _form(refused.text)
    saved = client.post(f"/customers/{customer.id}/edit", data={**fields, "email": "wanda@example.com", "_csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == LIST


def test_the_new_page_keeps_the_list_state_for_cancel(staff_client) -> None:
    client, _ = staff_client
    page = client.get("/customers/new", headers={"referer": f"{client.base_url}{LIST}"})
    assert _links(page.text, "Cancel") == _links(page.text, "Back to customers") == [LIST]
    refused = client.post("/customers", data={"email": "x", "next": LIST, "_csrf_token": _csrf(page.text)})
    assert refused.status_code == 422
    assert _links(refused.text, "Cancel") == [LIST]


def test_users_keep_their_list_state_too(staff_client) -> None:
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    client, account_id = staff_client
    email = f"zora-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        user_id = accounts.create_user(session, account_id, email, "correct horse battery", role="staff").id
    listing = "/users?q=zora&sort=role&dir=desc"

    page = client.get(f"/users/{user_id}/edit", headers={"referer": f"{client.base_url}{listing}"})
    assert _hidden_next(page.text) == listing
    saved = client.post(f"/users/{user_id}/edit", data={**_form(page.text), "name": "Zora", "_csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == listing


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/customers",
        "//evil.example/customers",
        "/\\evil.example",
        "/customers/../login",
        "/customersX",
        "/users?q=a",
        "/customers/1/edit",
        "/customers?q=a\r\nSet-Cookie: x=1",
        "/customers?q=\u202e",
        "",
    ],
)
def test_a_return_address_leads_only_into_the_resources_own_list(staff_client, target: str) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, first_name="Xaver", last_name="Vogel")
    page = client.get(f"/customers/{customer.id}/edit", params={"next": target})
    assert _hidden_next(page.text) == "/customers"
    saved = client.post(f"/customers/{customer.id}/edit", data={**_form(page.text), "next": target, "_csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/customers"
