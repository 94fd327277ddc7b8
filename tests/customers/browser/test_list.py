"""Reading the list: sorting by column, paging, and the count of matches."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    Staff,
    assert_same_document,
    create_customer,
    create_customers,
    log_in,
    mark_page,
    search_for,
    seed_customers,
    unique_word,
)

pytestmark = pytest.mark.e2e


def header(page: Page, label: str):
    return page.get_by_role("columnheader", name=re.compile(rf"^{label}\b"))


def names(page: Page) -> list[str]:
    return page.locator("#results tbody tr td[data-label='Name']").all_inner_texts()


@pytest.fixture
def sortable(admin: Staff, token: str) -> list[str]:
    """Four customers whose name order is the reverse of their company order."""
    people = [("Anna", "Adler", "Zenit"), ("Bert", "Brandt", "Yacht"), ("Carl", "Cordes", "Xylo"), ("Dora", "Dietz", "Werft")]
    for first, last, company in people:
        create_customer(admin.account_id, first_name=first, last_name=last, company=f"{company} {token}", city="Kiel")
    return [f"{first} {last}" for first, last, _ in people]


def test_clicking_column_headers_sorts_ascending_then_descending(logged_in_page: Page, sortable: list[str], token: str) -> None:
    page = logged_in_page
    search_for(page, token)
    expect(page.locator("#results tbody tr")).to_have_count(4)

    # Sorted by name, ascending, to begin with.
    expect(header(page, "Name")).to_have_attribute("aria-sort", "ascending")
    assert names(page) == sortable
    mark_page(page)

    header(page, "Name").get_by_role("link").click()
    expect(header(page, "Name")).to_have_attribute("aria-sort", "descending")
    assert names(page) == sortable[::-1]
    expect(page).to_have_url(re.compile(r"sort=name&dir=desc|dir=desc.*sort=name"))

    header(page, "Company").get_by_role("link").click()
    expect(header(page, "Company")).to_have_attribute("aria-sort", "ascending")
    expect(header(page, "Name")).not_to_have_attribute("aria-sort", re.compile(".*"))
    assert names(page) == sortable[::-1]  # Werft, Xylo, Yacht, Zenit

    header(page, "Company").get_by_role("link").click()
    expect(header(page, "Company")).to_have_attribute("aria-sort", "descending")
    assert names(page) == sortable
    # The search stays while sorting, and nothing was loaded as a whole page.
    expect(page.get_by_label("Search", exact=True)).to_have_value(token)
    expect(page.locator("#count")).to_have_text(f"4 customers matching “{token}”")
    assert_same_document(page)

    # The sort is in the URL: a reload shows the same order.
    page.reload()
    expect(header(page, "Company")).to_have_attribute("aria-sort", "descending")
    assert names(page) == sortable


def test_a_new_search_keeps_the_chosen_sort(logged_in_page: Page, sortable: list[str], token: str) -> None:
    page = logged_in_page
    search_for(page, token)
    header(page, "Company").get_by_role("link").click()
    expect(header(page, "Company")).to_have_attribute("aria-sort", "ascending")

    search_for(page, f"{token[:-1]}")  # a different search text, still matching the four
    expect(page.locator("#count")).to_have_text(f"4 customers matching “{token[:-1]}”")
    expect(header(page, "Company")).to_have_attribute("aria-sort", "ascending", timeout=1000)
    assert names(page) == sortable[::-1]


def test_pages_of_thirty_with_next_and_previous(page: Page, fresh_admin: Staff) -> None:
    create_customers(fresh_admin.account_id, 65, city="Kassel")
    log_in(page, fresh_admin)
    rows = page.locator("#results tbody tr")
    pager = page.get_by_role("navigation", name="Pages")

    expect(page.locator("#count")).to_have_text("65 customers")
    expect(rows).to_have_count(30)
    expect(pager).to_contain_text("Page 1 of 3")
    expect(pager.get_by_text("← Previous")).to_have_attribute("aria-disabled", "true")
    first_page = names(page)
    mark_page(page)

    pager.get_by_role("link", name="Next →").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows).to_have_count(30)
    second_page = names(page)
    assert second_page != first_page

    pager.get_by_role("link", name="Next →").click()
    expect(pager).to_contain_text("Page 3 of 3")
    expect(rows).to_have_count(5)
    expect(pager.get_by_text("Next →")).to_have_attribute("aria-disabled", "true")

    pager.get_by_role("link", name="← Previous").click()
    expect(pager).to_contain_text("Page 2 of 3")
    assert names(page) == second_page
    pager.get_by_role("link", name="← Previous").click()
    expect(pager).to_contain_text("Page 1 of 3")
    assert names(page) == first_page
    expect(page.locator("#count")).to_have_text("65 customers")
    assert_same_document(page)


@pytest.mark.parametrize("direction", ["", "desc"])
def test_every_customer_appears_on_exactly_one_page(page: Page, fresh_admin: Staff, direction: str) -> None:
    """Seeded customers (many share a name): paging forwards never repeats or skips anyone, in either order."""
    seed_customers(fresh_admin.account_id, 65, rng_seed=11)
    log_in(page, fresh_admin)
    seen: list[str] = []
    for number in (1, 2, 3):
        page.goto(f"/customers?sort=name&dir={direction}&page={number}")
        expect(page.get_by_role("navigation", name="Pages")).to_contain_text(f"Page {number} of 3")
        seen += page.locator("#results tbody tr").evaluate_all("rs => rs.map(r => r.id)")
    assert len(seen) == 65
    assert len(set(seen)) == 65


def test_a_page_number_past_the_end_shows_the_last_page(page: Page, fresh_admin: Staff) -> None:
    create_customers(fresh_admin.account_id, 35)
    log_in(page, fresh_admin, "/login?next=/customers?page=9")
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2 of 2")
    expect(page.locator("#results tbody tr")).to_have_count(5)


def test_first_last_and_a_page_number_keep_the_search_and_the_sort(page: Page, fresh_admin: Staff) -> None:
    word = unique_word()
    create_customers(fresh_admin.account_id, 95, word=word)  # pages of 30: 30, 30, 30, 5
    create_customers(fresh_admin.account_id, 3)  # not found by the search
    log_in(page, fresh_admin, f"/login?next=/customers?q={word}%26sort=name%26dir=desc")
    pager = page.get_by_role("navigation", name="Pages")
    rows = page.locator("#results tbody tr")
    expect(pager).to_contain_text("Page 1 of 4")
    expect(pager.get_by_text("« First")).to_have_attribute("aria-disabled", "true")
    mark_page(page)

    pager.get_by_role("link", name="Last »").click()
    expect(pager).to_contain_text("Page 4 of 4")
    expect(rows).to_have_count(5)
    assert names(page)[0].endswith(f"{word}004")  # descending: the last page holds the first five
    expect(pager.get_by_text("Last »")).to_have_attribute("aria-disabled", "true")

    pager.get_by_role("link", name="« First").click()
    expect(pager).to_contain_text("Page 1 of 4")
    assert names(page)[0].endswith(f"{word}094")

    pager.get_by_label("Go to page").fill("3")
    pager.get_by_label("Go to page").press("Enter")
    expect(pager).to_contain_text("Page 3 of 4")
    assert names(page)[0].endswith(f"{word}034")
    expect(page).to_have_url(re.compile(rf"q={word}.*dir=desc.*page=3"))
    expect(page.locator("#count")).to_have_text(f"95 customers matching “{word}”")
    assert_same_document(page)


def test_a_page_number_goes_to_its_page_without_javascript(no_js_page: Page, admin: Staff) -> None:
    word = unique_word()
    create_customers(admin.account_id, 65, word=word)
    page = no_js_page
    page.goto(f"/customers?q={word}")
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text("Page 1 of 3")
    pager.get_by_label("Go to page").fill("2")
    pager.get_by_role("button", name="Go").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(page).to_have_url(re.compile(rf"q={word}&.*page=2"))
    assert names(page)[0].endswith(f"{word}030")


def test_sorting_returns_to_the_first_page(page: Page, fresh_admin: Staff) -> None:
    cities = ("Hagen", "Essen", "Aachen", "Gera", "Bonn", "Fulda", "Celle", "Dessau")
    for i in range(40):
        create_customer(fresh_admin.account_id, first_name="Jo", last_name=f"Sample{i:03d}", city=cities[i % len(cities)])
    log_in(page, fresh_admin)
    pager = page.get_by_role("navigation", name="Pages")
    pager.get_by_role("link", name="Next →").click()
    expect(pager).to_contain_text("Page 2 of 2")

    header(page, "City").get_by_role("link").click()
    expect(header(page, "City")).to_have_attribute("aria-sort", "ascending")
    expect(pager).to_contain_text("Page 1 of 2")
    shown = page.locator("#results tbody tr td[data-label='City']").all_inner_texts()
    assert shown == sorted(c for i in range(40) for c in [cities[i % len(cities)]])[:30]

    header(page, "City").get_by_role("link").click()
    expect(header(page, "City")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#results tbody tr td[data-label='City']").first).to_have_text("Hagen")
