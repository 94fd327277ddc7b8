"""The trash is a list like the customers list (count, search, pages, bulk restore), and every
delete, single or bulk, offers Undo right after it."""

from __future__ import annotations

import html
import re

from litestar.datastructures import MultiDict

from app.customers.trash import RETENTION_DAYS


def _create(account_id: int, first: str, last: str) -> int:
    from app.customers import service
    from app.customers.forms import CustomerForm
    from app.database.engine import session_scope

    form = CustomerForm.bind(MultiDict({"first_name": first, "last_name": last}), timezone="Europe/Berlin")
    assert form.validate(), form.errors
    with session_scope() as session:
        return service.create(session, account_id, form.cleaned()).id


def _delete(account_id: int, ids: list[int]) -> None:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        assert service.bulk(session, account_id, ids, "delete") == len(ids)


def _exists(account_id: int, customer_id: int) -> bool:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        return service.get(session, account_id, customer_id) is not None


def _trash_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="trash-(\d+)"', page)]


def _count(page: str) -> str:
    return " ".join(html.unescape(re.search(r'<p class="count" id="count">(.*?)</p>', page, re.DOTALL).group(1)).split())


def test_the_trash_pages_through_every_deleted_customer_with_a_count(staff_client):
    client, account_id = staff_client
    ids = [_create(account_id, "Gone", f"Person{i:03d}") for i in range(230)]
    _delete(account_id, ids)

    first = client.get("/customers/trash").text
    assert _count(first) == "230 customers in the trash"
    assert len(_trash_ids(first)) == 30
    assert "Page 1 of 8" in first
    seen: list[int] = []
    for number in range(1, 9):
        seen += _trash_ids(client.get(f"/customers/trash?page={number}").text)
    assert sorted(seen) == sorted(ids)
    # Newest first by default; by name when asked.
    by_name = client.get("/customers/trash?sort=name").text
    assert _trash_ids(by_name)[:2] == ids[:2]
    last = client.get("/customers/trash?sort=name&page=8").text
    assert _trash_ids(last) == ids[210:]


def test_the_trash_searches_by_name(staff_client):
    client, account_id = staff_client
    wanted = [_create(account_id, "Ottilie", f"Quendel{i}") for i in range(3)]
    other = _create(account_id, "Bruno", "Zwirbel")
    _delete(account_id, [*wanted, other])

    page = client.get("/customers/trash?q=quendel").text
    assert sorted(_trash_ids(page)) == sorted(wanted)
    assert _count(page) == "3 customers in the trash matching “quendel”"
    partial = client.get("/customers/trash?q=ZWIRB", headers={"HX-Request": "true", "HX-Target": "results"}).text
    assert _trash_ids(partial) == [other]
    assert "<html" not in partial
    assert "No deleted customers match “nothing-like-it”" in client.get("/customers/trash?q=nothing-like-it").text


def test_bulk_restore_of_selected_and_of_every_match(staff_client):
    client, account_id = staff_client
    picked = [_create(account_id, "Picked", f"Lindwurm{i}") for i in range(2)]
    matched = [_create(account_id, "Matched", f"Tatzel{i}") for i in range(3)]
    left = _create(account_id, "Left", "Alone")
    _delete(account_id, [*picked, *matched, left])

    page = client.get("/customers/trash").text
    assert 'action="/customers/trash/bulk"' in page
    response = client.post("/customers/trash/bulk", data={"action": "restore", "ids": [str(i) for i in picked]}, follow_redirects=True)
    assert response.status_code == 200
    assert "Restored 2 customers." in response.text
    assert all(_exists(account_id, i) for i in picked)
    assert not any(_exists(account_id, i) for i in [*matched, left])

    response = client.post("/customers/trash/bulk", data={"action": "restore", "all": "1", "q": "tatzel"}, follow_redirects=True)
    assert "Restored 3 customers." in response.text
    assert all(_exists(account_id, i) for i in matched)
    assert not _exists(account_id, left)
    assert _trash_ids(client.get("/customers/trash").text) == [left]


def test_a_bulk_delete_offers_undo_that_restores_exactly_those(staff_client):
    client, account_id = staff_client
    doomed = [_create(account_id, "Bulk", f"Brummel{i}") for i in range(3)]
    earlier = _create(account_id, "Earlier", "Brummel")
    _delete(account_id, [earlier])

    data = {"action": "delete", "confirm": "1", "q": "brummel", "ids": [str(i) for i in doomed]}
    response = client.post("/customers/bulk", data=data, follow_redirects=True)
    assert f"Deleted 3 customers. They are in the trash for {RETENTION_DAYS} days." in response.text
    undo = html.unescape(re.search(r'<form method="post" action="([^"]+)" class="undo"', response.text).group(1))
    assert undo.startswith("/customers/trash/undo?batch=")
    assert not any(_exists(account_id, i) for i in doomed)

    back = client.post(undo, headers={"Referer": f"{client.base_url}/customers?q=brummel"}, follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/customers?q=brummel"
    assert "Restored 3 customers." in client.get(back.headers["location"]).text
    assert all(_exists(account_id, i) for i in doomed)
    assert not _exists(account_id, earlier)  # deleted before, by another action: stays in the trash
    # Undone once: nothing left to undo.
    assert "no longer in the trash" in client.post(undo, follow_redirects=True).text


def test_a_single_delete_offers_undo_with_and_without_javascript(staff_client):
    client, account_id = staff_client
    plain = _create(account_id, "Plain", "Knabbel")
    enhanced = _create(account_id, "Enhanced", "Knabbel")

    response = client.post(f"/customers/{plain}/delete", follow_redirects=True)
    assert f"Deleted Plain Knabbel. It is in the trash for {RETENTION_DAYS} days." in response.text
    assert f'action="/customers/trash/{plain}/restore" class="undo"' in response.text

    response = client.post(f"/customers/{enhanced}/delete", headers={"HX-Request": "true"})
    assert f'action="/customers/trash/{enhanced}/restore" class="undo" hx-post=' in response.text
    assert not _exists(account_id, enhanced)

    client.post(f"/customers/trash/{plain}/restore")
    client.post(f"/customers/trash/{enhanced}/restore", headers={"HX-Request": "true"})
    assert _exists(account_id, plain) and _exists(account_id, enhanced)


def test_an_empty_list_mentions_the_customers_in_the_trash(staff_client):
    client, account_id = staff_client
    assert "in the trash" not in client.get("/customers").text
    ids = [_create(account_id, "Only", f"One{i}") for i in range(2)]
    _delete(account_id, ids)
    page = client.get("/customers").text
    assert "No customers yet." in page
    assert "2 customers are in the trash" in page
    assert 'href="/customers/trash">restore from the trash</a>' in page


def test_the_delete_dialog_says_how_long_the_trash_keeps_the_customer(staff_client):
    client, account_id = staff_client
    customer = _create(account_id, "Dialog", "Frage")
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(f"/customers/{customer}/delete", headers=headers).text
        assert f"It goes to the trash, where it can be restored for {RETENTION_DAYS} days" in " ".join(page.split())


def test_undo_and_bulk_restore_touch_only_the_own_account(staff_client):
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    client, _ = staff_client
    with session_scope() as session:
        other, _ = accounts.ensure_account(session, "Other shop for trash isolation")
        other_id = other.id
    theirs = _create(other_id, "Their", "Kunde")
    _delete(other_id, [theirs])
    response = client.post("/customers/trash/bulk", data={"action": "restore", "ids": str(theirs)}, follow_redirects=True)
    assert "Restored 0 customers." in response.text
    assert client.post("/customers/trash/undo?batch=not-a-time").status_code == 404
    assert not _exists(other_id, theirs)


def test_a_restored_customer_keeps_its_address_ids(staff_client):
    """Delete and restore (single, and bulk delete undone) give back the billing and shipping addresses with their ids."""
    from app.customers import service
    from app.database.engine import session_scope

    client, account_id = staff_client
    with session_scope() as session:
        customer = service.create(session, account_id, {
            "first_name": "Ada", "last_name": "Knabbel", "billing_address": {"city": "Jena"},
            "shipping_address": [{"city": "Hamburg"}, {"city": "Köln"}],
        })
        customer_id = customer.id
        # Addresses made after these: a new id is not simply the one that was freed.
        service.create(session, account_id, {"first_name": "Bea", "last_name": "Knabbel", "billing_address": {"city": "Gera"}})

    def address_ids() -> list[tuple[str, str, int]]:
        with session_scope() as session:
            found = service.get(session, account_id, customer_id)
            assert found is not None
            return [(a.kind, a.city, a.id) for a in found.addresses]

    before = address_ids()
    assert [city for _, city, _ in before] == ["Jena", "Hamburg", "Köln"]
    client.post(f"/customers/{customer_id}/delete")
    client.post(f"/customers/trash/{customer_id}/restore")
    assert address_ids() == before

    _delete(account_id, [customer_id])
    with session_scope() as session:
        assert service.restore_many(session, account_id, [customer_id]) == 1
    assert address_ids() == before
    # A new address afterwards gets an id of its own.
    with session_scope() as session:
        customer = service.get_for_update(session, account_id, customer_id)
        service.update_customer(session, customer, {"shipping_address": [{"id": before[1][2], "city": "Hamburg"}, {"id": before[2][2], "city": "Köln"}, {"city": "Bonn"}]})
    after = address_ids()
    assert after[:3] == before and after[3][1] == "Bonn" and after[3][2] not in {i for _, _, i in before}
