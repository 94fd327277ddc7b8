"""Exports of the current list: CSV, CSV for Excel and Excel workbooks, read back with Python's
csv reader and openpyxl. Every matching row, every field of a customer, and nothing that a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from litestar.datastructures import MultiDict
from openpyxl import load_workbook


def _create(account_id: int, **fields: str) -> int:
    from app.customers import service
    from app.customers.forms import CustomerForm
    from app.database.engine import session_scope

    form = CustomerForm.bind(MultiDict(fields), timezone="Europe/Berlin")
    assert form.validate(), form.errors
    with session_scope() as session:
        return service.create(session, account_id, form.cleaned()).id


def _csv(response, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def _xlsx(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content))
    return [list(row) for row in book.worksheets[0].iter_rows()]


FORMULAS = {
    "first_name": "=1+1",
    "last_name": "+SUM(A1:A9)",
    "company": "-2+3 Schäfer GmbH",
    "email": "",
    "note": "@cmd|' /C calc'!A0",
    "phone_numbers-0-national_number": "+49 30 7654321",
    "phone_numbers-1-national_number": "0171 2345678",
    "billing_address-city": "=HYPERLINK(\"http://evil.example\")",
}

FULL = {
    "title": "Mrs.",
    "first_name": "Jördis",
    "last_name": "Weiß",
    "company": "Grün & Söhne",
    "email": "joerdis@example.com",
    "phone_numbers-0-national_number": "+49 30 7654321",
    "phone_numbers-0-type": "office",
    "birthday": "1985-04-30",
    "note": "Zahlt per Überweisung",
    "tax_number": "DE123456789",
    "email_marketing_agreed": "y",
    "is_vip": "y",
    "billing_address-address1": "Straße des 17. Juni 1",
    "billing_address-zipcode": "01067",
    "billing_address-city": "Dresden",
    "billing_address-country": "DE",
    "shipping_address-0-address1": "Lager 2",
    "shipping_address-0-zipcode": "04109",
    "shipping_address-0-city": "Leipzig",
    "shipping_address-0-country": "DE",
    "shipping_address-1-address1": "Hafen 3",
    "shipping_address-1-city": "Hamburg",
    "shipping_address-1-country": "DE",
}


def test_csv_export_streams_every_matching_customer(staff_client):
    client, account_id = staff_client
    for i in range(45):
        _create(account_id, first_name=f"Export{i:02d}", last_name="Tester", **{"billing_address-city": "Kiel"})
    _create(account_id, first_name="Other", last_name="Person")
    for path in ("/customers/export.csv", "/customers/export-excel.csv", "/customers/export.xlsx"):
        response = client.get(f"{path}?q=tester")
        assert response.status_code == 200, path
        assert "attachment" in response.headers["content-disposition"]
        rows = _xlsx(response) if path.endswith("xlsx") else _csv(response, ";" if "excel" in path else ",")
        values = [[c.value if hasattr(c, "value") else c for c in row] for row in rows]
        header = values[0]
        assert len(values) == 46, path
        first = header.index("First name")
        assert {r[first] for r in values[1:]} == {f"Export{i:02d}" for i in range(45)}, path
        assert {r[header.index("Billing address: City")] for r in values[1:]} == {"Kiel"}, path


def test_csv_export_holds_every_field_of_a_customer(staff_client):
    client, account_id = staff_client
    customer_id = _create(account_id, **FULL)
    response = client.get("/customers/export.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    header, row = _csv(response)
    record = dict(zip(header, row))
    assert record["ID"] == str(customer_id)
    assert record["Number"] == "1"
    expected = {
        "Title": "Mrs.", "First name": "Jördis", "Last name": "Weiß", "Company": "Grün & Söhne", "Email": "joerdis@example.com",
        "Phone numbers": "+49 30 7654321", "Birthday": "1985-04-30",
        "Note": "Zahlt per Überweisung", "VAT ID": "DE123456789", "Channel": "1", "Agreed to marketing emails": "yes",
        "B2B": "no", "Favourite": "no", "VIP": "yes", "Confirmed": "no",
        "Billing address: Street and number": "Straße des 17. Juni 1", "Billing address: Postcode": "01067",
        "Billing address: City": "Dresden", "Billing address: Country": "DE",
        "Shipping address 1: Street and number": "Lager 2", "Shipping address 1: Postcode": "04109",
        "Shipping address 1: City": "Leipzig", "Shipping address 2: Street and number": "Hafen 3",
        "Shipping address 2: City": "Hamburg", "Shipping address 2: Country": "DE",
    }
    assert {k: record[k] for k in expected} == expected
    created = datetime.strptime(record["Created"], "%Y-%m-%d %H:%M:%S")
    assert abs((created - datetime.now()).total_seconds()) < 26 * 3600  # a local date-time, not a repr
    assert "Shipping address 3: City" not in header


def test_csv_keeps_phone_numbers_and_neutralises_formulas(staff_client):
    client, account_id = staff_client
    _create(account_id, **FORMULAS)
    for path, delimiter in (("/customers/export.csv", ","), ("/customers/export-excel.csv", ";")):
        header, row = _csv(client.get(path), delimiter)
        record = dict(zip(header, row))
        assert record["Phone numbers"] == "+49 30 7654321; +49 171 2345678", path
        assert record["Company"] == "'-2+3 Schäfer GmbH"
        assert record["First name"] == "'=1+1"
        assert record["Last name"] == "'+SUM(A1:A9)"
        assert record["Note"] == "'@cmd|' /C calc'!A0"
        assert record["Billing address: City"] == "'=HYPERLINK(\"http://evil.example\")"


def test_csv_for_excel_has_a_bom_semicolons_and_the_same_rows(staff_client):
    client, account_id = staff_client
    _create(account_id, **FULL)
    plain = client.get("/customers/export.csv")
    excel = client.get("/customers/export-excel.csv")
    assert excel.status_code == 200
    assert excel.headers["content-type"] == "text/csv; charset=utf-8"
    assert excel.content.startswith(b"\xef\xbb\xbf")
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert excel.content[3:].split(b"\r\n")[0].count(b";") == len(_csv(plain)[0]) - 1
    assert _csv(excel, ";") == _csv(plain)
    assert "Jördis" in excel.content.decode("utf-8-sig")


def test_xlsx_cells_are_typed_and_hold_the_values_as_they_are(staff_client):
    client, account_id = staff_client
    _create(account_id, **FORMULAS)
    full_id = _create(account_id, **FULL)
    response = client.get("/customers/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"].endswith('.xlsx"')
    rows = _xlsx(response)
    header = [c.value for c in rows[0]]
    records = [dict(zip(header, row)) for row in rows[1:]]
    for row in rows:
        for cell in row:
            if cell.value is not None:
                assert cell.data_type in ("s", "n", "d"), (cell.coordinate, cell.data_type, cell.value)
    formulas = next(r for r in records if r["Phone numbers"].value == "+49 30 7654321; +49 171 2345678" and r["Email"].value is None)
    for name, label in (("first_name", "First name"), ("last_name", "Last name"), ("company", "Company"), ("note", "Note")):
        assert formulas[label].value == FORMULAS[name]
        assert formulas[label].data_type == "s"
    assert formulas["Billing address: City"].value == FORMULAS["billing_address-city"]
    assert formulas["Phone numbers"].data_type == "s"

    full = next(r for r in records if r["ID"].value == full_id)
    assert full["ID"].data_type == "n" and full["Number"].data_type == "n"
    assert full["Birthday"].is_date and full["Birthday"].value.date() == date(1985, 4, 30)
    assert full["Created"].is_date and isinstance(full["Created"].value, datetime)
    assert full["Billing address: Postcode"].value == "01067"  # not the number 1067
    assert full["Shipping address 2: City"].value == "Hamburg"
    assert full["Agreed to marketing emails"].value == "yes"
    assert full["Last name"].value == "Weiß"


def test_xlsx_of_an_empty_list_has_its_header(staff_client):
    client, _ = staff_client
    rows = _xlsx(client.get("/customers/export.xlsx?q=nobodyhere"))
    assert [c.value for c in rows[0]][:3] == ["ID", "Number", "Title"]
    assert len(rows) == 1


def test_the_list_offers_every_export_with_its_search(staff_client):
    client, account_id = staff_client
    _create(account_id, first_name="Menu", last_name="Check")
    page = client.get("/customers?q=menu").text
    for path in ("export.xlsx", "export-excel.csv", "export.csv"):
        assert f'href="/customers/{path}?q=menu&amp;' in page or f'href="/customers/{path}?q=menu"' in page


def test_users_export_their_list_columns(staff_client):
    client, _ = staff_client
    header, *rows = _csv(client.get("/users/export.csv"))
    assert header[0] == "Email"
    assert len(rows) == 1
    book = _xlsx(client.get("/users/export.xlsx"))
    assert [c.value for c in book[0]] == header


@pytest.mark.parametrize("path", ["/customers/export.csv", "/customers/export-excel.csv", "/customers/export.xlsx"])
def test_export_needs_a_signed_in_user(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
