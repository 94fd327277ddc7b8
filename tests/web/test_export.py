"""Export of the current list as CSV: every matching row, a header, no formulas."""

from __future__ import annotations

import csv
import io

from litestar.datastructures import MultiDict


def _create(account_id: int, **fields: str) -> None:
    from app.customers import service
    from app.customers.forms import CustomerForm
    from app.db import session_scope

    form = CustomerForm.bind(MultiDict(fields), timezone="Europe/Berlin")
    assert form.validate(), form.errors
    with session_scope() as session:
        service.create(session, account_id, form.cleaned())


def test_export_streams_every_matching_customer_with_a_header(staff_client):
    client, account_id = staff_client
    for i in range(45):
        _create(account_id, first_name=f"Export{i:02d}", last_name="Tester", **{"billing_address-city": "Kiel"})
    _create(account_id, first_name="Other", last_name="Person")
    response = client.get("/customers/export.csv?q=tester")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Name", "Company", "Email", "Phone", "City", "Tags"]
    assert len(rows) == 46
    assert {r[0] for r in rows[1:]} == {f"Export{i:02d} Tester" for i in range(45)}
    assert all(r[4] == "Kiel" for r in rows[1:])


def test_export_neutralises_spreadsheet_formulas(staff_client):
    client, account_id = staff_client
    _create(account_id, company="=HYPERLINK(\"http://x\")", email="", phone_number="+49 30 1234")
    rows = list(csv.reader(io.StringIO(client.get("/customers/export.csv").text)))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")"
    assert rows[1][3] == "'+49 30 1234"


def test_export_needs_a_signed_in_user(client):
    response = client.get("/customers/export.csv", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
