"""Search gives exactly what a plain LIKE scan gives, whichever way it is planned.

An account of seeded customers (their postings written in bulk) plus customers
made, renamed and deleted through the service (postings kept by the writes), and
search terms of every kind drawn at random from that data: last names, first and
last names, company words, cities, three-letter fragments, email and phone
fragments, one and two letters, no match. For each term, every sort in both
directions, with and without favourites, several pages, the count (capped) and
the other readers (keyset pages, streaming, "select all") must equal the rows a
plain ``search_text LIKE`` scan of the database returns in the list's order. The
planner's thresholds are varied so that every path is taken on this small data:
matches gathered and sorted, postings merged in name order, rows walked in order
(to a bound, then gathered), and on SQLite the trigram index.
"""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import and_, select

from app.customers import postings, queries, search, seed, service
from app.customers.models import Customer, CustomerWord, SearchWord
from app.customers.service import Query
from app.database.engine import session_scope
from tests.conftest import make_shop

SEEDED = 1_200
SORTS = list(queries.SORT_COLUMNS)
C = Customer.__table__.c

MADE = [
    {"first_name": "Jean-Luc", "last_name": "O'Brien", "company": "Straße & Söhne", "email": "jl.obrien@beispiel.de", "phone_number": "+49 (30) 555-0101"},
    {"first_name": "Zoë", "last_name": "Müller", "company": "", "email": "zoe_m%ller@example.com", "phone_number": "0171 1234567"},
    {"first_name": "", "last_name": "", "company": "Wagnerei Nord GmbH", "email": "info@wagnerei.example", "phone_number": ""},
    {"first_name": "Anna", "last_name": "Schmidt-Wagner", "company": "", "email": "anna.sw@example.org", "phone_number": "030 99 88 77"},
    {"first_name": "Ærøskøbing", "last_name": "Łukasz", "company": "Œuvre", "email": "", "phone_number": ""},
]


@pytest.fixture(scope="module")
def account() -> int:
    # A neighbour with the same kind of data: its customers share the database's indexes (SQLite's
    # trigram index holds every account's rows) and must never show in this account's counts or pages.
    neighbour = make_shop()
    with session_scope() as session:
        seed.seed(session, neighbour.id, SEEDED, batch=500, rng_seed=15)
    shop = make_shop()
    with session_scope() as session:
        seed.seed(session, shop.id, SEEDED, batch=500, rng_seed=14)
    with session_scope() as session:
        made = [service.create(session, shop.id, {**data, "billing_address": {"city": "Berlin"}}) for data in MADE]
        # Renamed (postings move to the new words and name) and deleted (postings go).
        renamed = service.get_for_update(session, shop.id, made[0].id)
        assert renamed is not None
        service.update_customer(session, renamed, {"last_name": "Obrian", "billing_address": {"city": "Köln"}})
        service.set_favourite(session, shop.id, made[1].id, True)
        service.delete(session, shop.id, made[4].id)
        seeded = session.scalars(select(C.id).where(C.account_id == shop.id).order_by(C.id).limit(3)).all()
        for customer_id in seeded[:2]:
            service.delete(session, shop.id, customer_id)
        changed = service.get_for_update(session, shop.id, seeded[2])
        assert changed is not None
        service.update_customer(session, changed, {"first_name": "Quintus", "company": "Zebra Werke"})
    return shop.id


def _terms(account_id: int) -> dict[str, list[str]]:
    """Terms of every kind drawn from the account's data (a fixed seed)."""
    rng = random.Random(1414)
    with session_scope() as session:
        rows = session.execute(
            select(C.first_name, C.last_name, C.company, C.email, C.phone_number, C.city, C.search_text).where(C.account_id == account_id)
        ).all()
    pick = [rng.choice(rows) for _ in range(12)]
    fragments = []
    for row in pick:
        words = [w for w in search.WORD.findall(row.search_text) if len(w) >= 3]
        word = rng.choice(words)
        start = rng.randrange(0, len(word) - 2)
        fragments.append(word[start : start + 3])
    emails = [r.email for r in pick if r.email]
    phones = [re.sub(r"\D", "", r.phone_number) for r in pick if r.phone_number]
    return {
        "last": [r.last_name for r in pick if r.last_name] + ["MÜLLER", "muller", "Wagner"],
        "first+last": [f"{r.first_name} {r.last_name}" for r in pick if r.first_name] + ["zoe muller", "anna wagner"],
        "company": [rng.choice(r.company.split()) for r in rows if r.company][:10] + ["gmbh", "wagnerei", "söhne"],
        "city": [r.city for r in pick] + ["frankfurt am main", "koln"],
        "fragment": fragments + ["sch", "ner", "ß"],
        "email": [e[i : i + 6] for e in emails for i in (0, 3)] + ["@example.", "m%ller", "_m", "obrien@"],
        "phone": [p[2:6] for p in phones] + [r.phone_number[:7] for r in pick] + ["555-01", "(30)"],
        "short": ["a", "mü", "sc", "w", "zo", "a b", "sc mu"],
        "mixed": ["wagner 030", "ann ber", "schmidt gmbh", "müller example.com", "e an", "ber sch mü", "anna.sw@ wagner",
                  "example com berlin", "zoe muller example", "wagnerei.example"],
        "none": ["xqzj", "wagnerx", "qqq", "zz9"],
    }


def _reference(account_id: int, query: Query) -> list[int]:
    """The list as a plain LIKE scan of the account's rows gives it."""
    query = query.normalised()
    terms = search.words(query.search)
    conds = [C.account_id == account_id]
    if query.favourites:
        conds.append(C.is_favourite.is_(True))
    if terms and all(len(t) < search.TRIGRAM for t in terms):
        low, high = search.prefix_bounds(terms[0])
        conds.append(and_(C.sort_name >= low, C.sort_name < high))
        terms = terms[1:]
    conds.extend(C.search_text.like(queries.like(t), escape="/") for t in terms)
    column = queries.SORT_COLUMNS[query.sort]
    order = ([column] if column is not None else []) + [C.id]
    with session_scope() as session:
        stmt = select(C.id).where(*conds).order_by(*[c.desc() if query.descending else c.asc() for c in order])
        return list(session.scalars(stmt))


def _pages(account_id: int, query: Query, expected: list[int], per_page: int = 7) -> None:
    cap = service.SEARCH_COUNT_CAP
    with session_scope() as session:
        first = service.page(session, account_id, query, 1, per_page)
        assert (first.total, first.exact) == (min(len(expected), cap), len(expected) <= cap), query
        last = max(1, -(-first.total // per_page))
        for number in sorted({1, 2, last // 2 + 1, last, last + 1}):
            got = [c["id"] for c in service.page(session, account_id, query, number, per_page).items]
            assert got == expected[(number - 1) * per_page : number * per_page], (query, number)


PLANS = {
    "measured": {},
    "gather-everything": {"NAME_GATHER": 10**9, "WORDS_GATHER": 10**9},
    "merge-every-word": {"NAME_GATHER": 0, "WORDS_GATHER": 0},
    "merge-nothing": {"NAME_GATHER": 0, "WORDS_GATHER": 0, "WORDS_MERGE": 0},
    "few-words": {"NAME_GATHER": 0, "WORDS_GATHER": 0, "WORDS_AT_MOST": 1},
    "counted-little": {"NAME_GATHER": 2, "WORDS_GATHER": 2, "WORDS_COUNTED": 3},
    "walk-a-little": {"NAME_GATHER": 0, "WORDS_GATHER": 0, "WORDS_MERGE": 0, "service.WALK_AT_MOST": 40},
    "walk-nothing": {"NAME_GATHER": 0, "WORDS_GATHER": 0, "service.WALK_AT_MOST": 0},
    # SQLite: fragments the trigram index finds matched while the rows are read in order.
    "trigram-walk": {"FTS_GATHER": 0},
    # One or two letters in other orders than by name: the list's order walked, the names tested on each row.
    "prefix-walk": {"PREFIX_GATHER": 0},
    # Several common words: their postings intersected, read a posting or two at a time.
    "intersect-in-small-blocks": {"NAME_GATHER": 0, "WORDS_GATHER": 0, "postings.FIRST_BLOCK": 1, "postings.LAST_BLOCK": 2},
}


@pytest.fixture(params=list(PLANS))
def plan(request, monkeypatch) -> str:
    for name, value in PLANS[request.param].items():
        module, _, attribute = name.rpartition(".")
        monkeypatch.setattr({"postings": postings, "service": service}.get(module, queries), attribute, value)
    return request.param


@pytest.mark.parametrize("kind", ["last", "first+last", "company", "city", "fragment", "email", "phone", "short", "mixed", "none"])
def test_every_kind_of_term_finds_what_a_like_scan_finds_in_every_order(account, plan, kind) -> None:
    for term in _terms(account)[kind]:
        for sort in SORTS:
            for descending in (False, True):
                query = Query(term, sort=sort, descending=descending)
                _pages(account, query, _reference(account, query))
        for sort, descending in (("name", False), ("city", True), ("created", False)):
            query = Query(term, favourites=True, sort=sort, descending=descending)
            _pages(account, query, _reference(account, query))


@pytest.mark.parametrize("term", ["wagner", "a", "sch mü", "xqzj", "example", "030"])
def test_keyset_pages_streaming_and_select_all_find_the_same(account, plan, term) -> None:
    query = Query(term, sort="city", descending=True)
    expected = _reference(account, query)
    by_id = sorted(expected)
    with session_scope() as session:
        assert [c["id"] for c in service.stream(session, account, query)] == expected
        assert service.matching_ids(session, account, query) == expected
        walked, after, more = [], 0, True
        while more:
            page, more = service.page_after(session, account, after, query, per_page=50)
            walked += [c["id"] for c in page.items]
            after = walked[-1] if walked else 0
        assert walked == by_id


def test_counts_stop_at_the_cap(account, plan) -> None:
    """More matches than the cap: the count says so, and the pages are still right."""
    assert SEEDED > service.SEARCH_COUNT_CAP
    for term in ("example", "exa", "mple", "exa mple"):
        query = Query(term)
        expected = _reference(account, query)
        assert len(expected) > service.SEARCH_COUNT_CAP
        _pages(account, query, expected, per_page=30)


def test_postings_hold_every_word_of_every_customer_and_nothing_else(account) -> None:
    with session_scope() as session:
        rows = session.execute(select(C.id, C.sort_name, C.search_text).where(C.account_id == account)).all()
        postings = set(
            session.execute(
                select(CustomerWord.customer_id, CustomerWord.sort_name, CustomerWord.word).where(CustomerWord.account_id == account)
            ).all()
        )
        words = set(session.scalars(select(SearchWord.word).where(SearchWord.account_id == account)))
    expected = {(r.id, r.sort_name, w) for r in rows for w in search.index_words(r.search_text)}
    assert postings == expected
    assert {w for _, _, w in expected} <= words
