"""One customer's page at /customers/{id}, as a pasted address expects: read-only, with its actions."""

from __future__ import annotations

import re
from html import unescape

from tests.fixtures.browser import create_customer


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_customers_address_shows_the_customer(staff_client) -> None:
    client, account_id = staff_client
    customer = create_customer(
        account_id, title="Mrs.", first_name="Ada", last_name="Lovelace", company="Analytical GmbH", email="ada@example.com",
        phone_number="030 1234567", birthday="1985-04-30", email_marketing_agreed=True, is_vip=True, tax_number="DE123",
        note="Calls on Mondays", address1="Hauptstr. 1", zipcode="10115", city="Berlin", country="DE",
        **{"shipping_address-0-address1": "Lager 7", "shipping_address-0-city": "Hamburg", "shipping_address-0-country": "AT"},
    )

    response = client.get(f"/customers/{customer.id}")

    assert response.status_code == 200
    main = response.text[response.text.index('<main'):response.text.index('</main>')]
    text = _text(main)
    assert re.search(r"<h1>Ada Lovelace</h1>", main)
    for shown in (
        "Number 1", "Title Mrs.", "First name Ada", "Last name Lovelace", "Company Analytical GmbH", "Birthday 1985-04-30",
        "Email ada@example.com", "Phone number 1 Number 030 1234567 Country calling code 49", "Agreed to marketing emails Yes", "VIP Yes", "B2B No", "VAT ID DE123",
        "Note Calls on Mondays", "Street and number Hauptstr. 1", "Postcode 10115", "City Berlin", "Country Germany",
        "Shipping address 1", "Street and number Lager 7", "City Hamburg", "Country Austria",
    ):
        assert shown in text, shown
    assert re.search(r"Created <time datetime=\"[^\"]+\">\d\d\.\d\d\.\d{4} \d\d:\d\d</time>", main.replace("</dt><dd>", " "))
    assert re.search(r"Last changed <time datetime=", main.replace("</dt><dd>", " "))
    # Its actions: edit, history, delete, the favourite star (a form that works without JavaScript), back to the list.
    assert f'href="/customers/{customer.id}/edit"' in main
    assert f'href="/customers/{customer.id}/history"' in main
    assert f'href="/customers/{customer.id}/delete"' in main
    assert f'action="/customers/{customer.id}/toggle/is_favourite"' in main
    assert 'href="/customers">Back to customers</a>' in main


def test_the_list_links_each_name_to_its_page_and_the_page_keeps_the_list_state(staff_client) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, first_name="Bea", last_name="Zobel")
    listing = "/customers?q=Zobel&sort=city&dir=desc"

    page = client.get(listing).text
    assert f'<a class="title" href="/customers/{customer.id}">Bea Zobel</a>' in page

    shown = client.get(f"/customers/{customer.id}", headers={"referer": f"{client.base_url}{listing}"}).text
    back = re.escape("/customers?q=Zobel&amp;sort=city&amp;dir=desc")
    assert re.search(rf'href="{back}">Back to customers</a>', shown)
    next_param = re.escape("next=%2Fcustomers%3Fq%3DZobel%26sort%3Dcity%26dir%3Ddesc")
    assert re.search(rf'href="/customers/{customer.id}/edit\?{next_param}">Edit</a>', shown)
    assert re.search(rf'href="/customers/{customer.id}/delete\?{next_param}">Delete</a>', shown)


def test_starring_on_the_customers_page_returns_to_it(staff_client) -> None:
    client, account_id = staff_client
    customer = create_customer(account_id, first_name="Cem", last_name="Yilmaz")
    here = f"/customers/{customer.id}?next=%2Fcustomers%3Fq%3DYilmaz"

    response = client.post(f"/customers/{customer.id}/toggle/is_favourite", data={"value": "1", "next": here}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == here
    assert 'aria-pressed="true"' in client.get(here).text


def test_another_accounts_customer_has_no_page(staff_client) -> None:
    from tests.conftest import make_shop

    client, _ = staff_client
    stranger = create_customer(make_shop().id, first_name="Not", last_name="Yours")
    assert client.get(f"/customers/{stranger.id}").status_code == 404
