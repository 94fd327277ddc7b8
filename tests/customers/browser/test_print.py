"""Printing the list: every matching customer, not only the page on screen."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Staff, create_customer, search_for

pytestmark = pytest.mark.e2e

COUNT = 80


@pytest.fixture(scope="module")
def printable(admin: Staff) -> tuple[str, list[str], str]:
    """80 customers sharing a word (more than two pages of 30), and one that does not match."""
    from tests.fixtures.browser import unique_word

    word = unique_word()
    names = []
    for i in range(COUNT):
        last = f"{word}{i:03d}"
        create_customer(admin.account_id, first_name="Pia", last_name=last, city="Ulm")
        names.append(f"Pia {last}")
    other = create_customer(admin.account_id, first_name="Otto", last_name=f"Other{unique_word()}").name
    return word, names, other


def pdf_text(page: Page) -> str:
    with tempfile.TemporaryDirectory(prefix="clientele-e2e-print-") as folder:
        path = Path(folder) / "list.pdf"
        page.emulate_media(media="print")
        page.pdf(path=str(path), format="A4", landscape=True)
        result = subprocess.run(["/usr/bin/pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
        return result.stdout


def test_print_shows_every_matching_customer_with_the_account_and_count(logged_in_page: Page, printable, admin: Staff) -> None:
    page = logged_in_page
    word, names, other = printable
    search_for(page, word)
    expect(page.locator("#count")).to_have_text(f"{COUNT} customers matching “{word}”")
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 1 of 3")

    with page.context.expect_page() as new_tab:
        page.get_by_role("link", name="Print").click()
    printed = new_tab.value
    printed.wait_for_load_state()
    expect(printed).to_have_url(re.compile(rf"/customers/print\?(.*&)?q={word}"))
    expect(printed.locator("#print-count")).to_have_text(str(COUNT))
    expect(printed.locator("tbody tr")).to_have_count(COUNT)

    text = pdf_text(printed)
    assert admin.account_name in text
    assert re.search(rf"Count\s+{COUNT}\b", text), text[:1000]
    assert f"“{word}”" in text
    missing = [name for name in names if name not in text]
    assert not missing, f"{len(missing)} customers missing from the PDF, e.g. {missing[:5]}"
    assert other not in text
    # No screen-only controls in the printout.
    assert "Print this list" not in text
    assert "Back to the list" not in text


def test_print_keeps_the_favourites_filter(logged_in_page: Page, admin: Staff, token: str) -> None:
    page = logged_in_page
    create_customer(admin.account_id, first_name="Fritz", last_name=f"{token}fav", is_favourite=True)
    create_customer(admin.account_id, first_name="Gerd", last_name=f"{token}plain")
    search_for(page, token)
    page.get_by_label("Favourites", exact=True).check()
    expect(page.locator("#count")).to_have_text(f"1 customer matching “{token}” among favourites")

    with page.context.expect_page() as new_tab:
        page.get_by_role("link", name="Print").click()
    printed = new_tab.value
    printed.wait_for_load_state()
    text = pdf_text(printed)
    assert f"Fritz {token}fav" in text
    assert f"Gerd {token}plain" not in text
    assert "favourites only" in text
