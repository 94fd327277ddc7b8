"""Every value a list row shows is escaped: the row template writes the code's own ids and
names as they are, and escapes each value that comes from data explicitly."""

from __future__ import annotations

from markupsafe import escape

PAYLOAD = "<i>x</i>\"'&"


def test_every_listed_value_is_escaped_in_the_row(staff_client):
    from app.customers import service
    from app.database.engine import session_scope

    client, account_id = staff_client
    fields = {name: f"{name}{PAYLOAD}" for name in ("first_name", "last_name", "company", "email", "phone_number", "city")}
    phone = {"national_number": fields["phone_number"], "country_code": "49", "type": "normal"}  # the row shows the first number
    data = {**{k: v for k, v in fields.items() if k != "phone_number"}, "phone_numbers": [phone], "billing_address": {"city": fields.pop("city")}, "is_favourite": True, "is_vip": True}
    fields["city"] = data["billing_address"]["city"]
    with session_scope() as session:  # straight through the service: the forms would refuse some of these values
        customer = service.create(session, account_id, data)

    for page in (client.get("/customers"), client.get(f"/customers/{customer.id}/row")):
        assert page.status_code == 200
        assert "<i>" not in page.text and "x</i>" not in page.text
        for name, value in fields.items():
            if name in ("first_name", "last_name"):
                continue  # shown as the display name, below
            assert str(escape(value)) in page.text, name
        assert str(escape(f"{fields['first_name']} {fields['last_name']}")) in page.text
        assert f'href="/customers/{customer.id}/edit"' in page.text
