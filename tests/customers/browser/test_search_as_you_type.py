"""Finding customers: search as you type, the favourites filter, the empty state."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import CustomerRef, assert_same_document, mark_page, row, search_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_groups(add_customer, token: str) -> dict[str, list[CustomerRef]]:
    """Customers of two searches: "<token>alpha" (two of them) and "<token>beta" (one)."""
    return {
        "alpha": [
            add_customer(first_name="Ada", last_name=f"{token}alpha", city="Bremen"),
            add_customer(company=f"{token}alpha GmbH"),
        ],
        "beta": [add_customer(first_name="Bert", last_name=f"{token}beta", email=f"bert@{token.lower()}beta.example")],
    }


def results(page: Page):
    return page.locator("#results tbody tr")


def test_typing_in_search_updates_results_without_a_page_load(logged_in_page: Page, two_groups, token: str) -> None:
    page = logged_in_page
    mark_page(page)
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if r.headers.get("hx-request") == "true" and "/customers?" in r.url else None)
    # Hold the page's clock so that the debounce is seen exactly, however slowly the keys arrive.
    page.clock.install()
    page.clock.pause_at(time.time() * 1000 + 60_000)

    page.get_by_label("Search", exact=True).press_sequentially(f"{token}alpha")
    page.clock.run_for(250)
    page.wait_for_timeout(100)
    assert searches == [], "a request went out while still typing"
    with page.expect_response(lambda r: "/customers?" in r.url):
        page.clock.run_for(100)
    page.clock.resume()

    # One request for the whole word, not one per keystroke.
    assert len(searches) == 1 and f"q={token}alpha" in searches[0], searches
    expect(results(page)).to_have_count(2)
    for customer in two_groups["alpha"]:
        expect(row(page, customer)).to_contain_text(customer.name)
    expect(page.locator("#count")).to_have_text(f"2 customers matching “{token}alpha”")
    expect(page).to_have_url(re.compile(rf"/customers\?(.*&)?q={token}alpha(&|$)"))
    assert_same_document(page)


def test_search_matches_email_and_city_too(logged_in_page: Page, two_groups, token: str) -> None:
    page = logged_in_page
    search_for(page, f"bert@{token.lower()}beta")
    expect(results(page)).to_have_count(1)
    expect(row(page, two_groups["beta"][0])).to_be_visible()


def test_search_for_several_words_needs_all_of_them(logged_in_page: Page, two_groups, token: str) -> None:
    page = logged_in_page
    search_for(page, f"Ada {token}alpha")
    expect(results(page)).to_have_count(1)
    expect(row(page, two_groups["alpha"][0])).to_be_visible()


def test_search_with_a_long_and_a_short_word_finds_the_customer(logged_in_page: Page, add_customer, token: str) -> None:
    page = logged_in_page
    ab = add_customer(company=f"{token} Ab")
    search_for(page, f"{token} Ab")
    expect(row(page, ab)).to_be_visible()
    expect(results(page)).to_have_count(1)


def test_back_button_restores_the_previous_results(logged_in_page: Page, two_groups, token: str) -> None:
    page = logged_in_page
    search_for(page, f"{token}alpha")
    expect(results(page)).to_have_count(2)

    search_for(page, f"{token}beta")
    expect(results(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"q={token}beta"))

    page.go_back()
    expect(page).to_have_url(re.compile(rf"q={token}alpha"))
    expect(results(page)).to_have_count(2)
    for customer in two_groups["alpha"]:
        expect(row(page, customer)).to_be_visible()
    expect(page.locator("#count")).to_have_text(f"2 customers matching “{token}alpha”")

    page.go_forward()
    expect(page).to_have_url(re.compile(rf"q={token}beta"))
    expect(results(page)).to_have_count(1)


def test_back_button_restores_the_search_field_too(logged_in_page: Page, two_groups, token: str) -> None:
    page = logged_in_page
    search_for(page, f"{token}alpha")
    search_for(page, f"{token}beta")
    expect(results(page)).to_have_count(1)

    page.go_back()
    expect(results(page)).to_have_count(2)
    expect(page.get_by_label("Search", exact=True)).to_have_value(f"{token}alpha", timeout=1000)


def test_search_works_without_javascript(no_js_page: Page, two_groups, token: str) -> None:
    page = no_js_page
    page.goto("/customers")
    page.get_by_label("Search", exact=True).fill(f"{token}alpha")
    page.get_by_label("Search", exact=True).press("Enter")

    expect(page).to_have_url(re.compile(rf"/customers\?(.*&)?q={token}alpha"))
    expect(results(page)).to_have_count(2)
    expect(page.locator("#count")).to_have_text(f"2 customers matching “{token}alpha”")

    # The Search button submits as well.
    page.get_by_label("Search", exact=True).fill(f"{token}beta")
    page.get_by_role("button", name="Search").click()
    expect(results(page)).to_have_count(1)
    expect(row(page, two_groups["beta"][0])).to_be_visible()


# -- favourites ------------------------------------------------------------------


@pytest.fixture
def favourites(add_customer, token: str) -> dict[str, CustomerRef]:
    return {
        "fav": add_customer(first_name="Fay", last_name=f"{token}one", is_favourite=True),
        "fav_other": add_customer(first_name="Finn", last_name=f"{token}two", is_favourite=True),
        "plain": add_customer(first_name="Paula", last_name=f"{token}three"),
    }


def test_favourites_checkbox_filters_together_with_the_search(logged_in_page: Page, favourites, token: str) -> None:
    page = logged_in_page
    search_for(page, token)
    expect(results(page)).to_have_count(3)

    mark_page(page)
    page.get_by_label("Favourites", exact=True).check()
    expect(results(page)).to_have_count(2)
    expect(row(page, favourites["plain"])).to_have_count(0)
    expect(page.locator("#count")).to_have_text(f"2 customers matching “{token}” among favourites")
    expect(page).to_have_url(re.compile(r"favourites=1"))
    assert_same_document(page)

    # Narrow the search further: both conditions hold.
    search_for(page, f"{token}two")
    expect(results(page)).to_have_count(1)
    expect(row(page, favourites["fav_other"])).to_be_visible()

    page.get_by_label("Favourites", exact=True).uncheck()
    expect(results(page)).to_have_count(1)
    expect(page.locator("#count")).to_have_text(f"1 customer matching “{token}two”")


def test_clicking_a_star_toggles_favourite_and_it_persists(logged_in_page: Page, favourites, token: str) -> None:
    page = logged_in_page
    search_for(page, token)
    plain, fav = favourites["plain"], favourites["fav"]

    star = row(page, plain).get_by_role("button", name=f"Favourite: {plain.name}")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(row(page, plain).get_by_role("button", name=f"Favourite: {plain.name}")).to_have_attribute("aria-pressed", "true")

    unstar = row(page, fav).get_by_role("button", name=f"Favourite: {fav.name}")
    expect(unstar).to_have_attribute("aria-pressed", "true")
    unstar.click()
    expect(row(page, fav).get_by_role("button", name=f"Favourite: {fav.name}")).to_have_attribute("aria-pressed", "false")

    page.reload()
    expect(row(page, plain).get_by_role("button", name=f"Favourite: {plain.name}")).to_have_attribute("aria-pressed", "true")
    expect(row(page, fav).get_by_role("button", name=f"Favourite: {fav.name}")).to_have_attribute("aria-pressed", "false")

    page.get_by_label("Favourites", exact=True).check()
    expect(results(page)).to_have_count(2)
    expect(row(page, plain)).to_be_visible()
    expect(row(page, fav)).to_have_count(0)


# -- empty state -------------------------------------------------------------------


def test_a_search_without_results_says_no_customers_match(logged_in_page: Page, token: str) -> None:
    page = logged_in_page
    search_for(page, f"{token}nothing")

    expect(page.locator("#results table")).to_have_count(0)
    expect(page.locator("#results")).to_contain_text("No customers match")
    expect(page.locator("#count")).to_have_text(f"0 customers matching “{token}nothing”")

    page.get_by_role("link", name="Clear the search").click()
    expect(page).to_have_url(re.compile(r"/customers$"))
    expect(page.get_by_label("Search", exact=True)).to_have_value("")


def test_the_empty_state_sentence_reads_well(logged_in_page: Page, token: str) -> None:
    page = logged_in_page
    search_for(page, f"{token}nothing")
    expect(page.locator("#results .empty p").first).to_have_text(f"No customers match “{token}nothing”.", timeout=1000)
