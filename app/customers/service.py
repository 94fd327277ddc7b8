"""Customer persistence, always scoped to one account. No HTTP in here.

Both faces call these functions; nothing else touches the session for
customers. Every write commits its own transaction, so a request either
writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    column,
    func,
    select,
    table,
    text,
    tuple_,
    union,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Account
from app.customers import history, search, trash
from app.customers.merge import Merge, merge
from app.customers.models import (
    ADDRESS_FIELDS,
    BILLING,
    SHIPPING,
    Address,
    Customer,
    CustomerRecord,
    CustomerWord,
    Record,
    SearchWord,
)
from app.customers.trash import TrashedCustomer
from app.database.base import utcnow
from app.database.engine import begin_write
from app.shared.audit import SYSTEM, Who
from app.shared.inputs import MAX_ID, search_text
from app.shared.paging import Page

PAGE_SIZE = 30



@dataclass(frozen=True)
class Query:
    """What a list shows: a search, a favourites filter and an order."""

    search: str = ""
    favourites: bool = False
    sort: str = "name"
    descending: bool = False

    def normalised(self) -> Query:
        sort = self.sort if self.sort in SORT_COLUMNS else "name"
        return Query(search_text(self.search), self.favourites, sort, self.descending)


# -- reads -----------------------------------------------------------------

# A search with more matches than this is counted as "more than SEARCH_COUNT_CAP".
SEARCH_COUNT_CAP = 1_000

SORT_COLUMNS = {
    "name": Customer.sort_name,
    "company": Customer.company,
    "email": Customer.email,
    "phone": Customer.phone_number,
    "city": Customer.city,
    "created": None,
}

_fts = table("customers_fts", column("rowid"))


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


# Built once: a search runs them with its own expression.
_FTS_MATCH = text("customers_fts MATCH :fts_query")
_FTS_ROWIDS = select(_fts.c.rowid).where(_FTS_MATCH)
_FTS_COUNT = select(func.count()).select_from(_FTS_ROWIDS.limit(SEARCH_COUNT_CAP + 1).subquery())


def _fts_matches(session: Session, expression: str) -> int:
    """How many rows of every account the trigram index finds, counted up to the cap."""
    return session.connection().scalar(_FTS_COUNT, {"fts_query": expression}) or 0


@dataclass(frozen=True)
class _Shape:
    """The structure of a list's WHERE clause; its values are bound parameters (``_filter``).
    Statements are built once per shape (``_where`` and the builders below): building and keying a
    statement cost as much as running a page of it."""

    favourites: bool = False
    fts: bool = False  # SQLite: ids found in the trigram index (:fts_query)
    posted: bool = False  # ids found in the word postings of :words (a rare word: its matches are sorted)
    counted: bool = False  # a common word: :like_0, counted from the postings of :words
    merged: int = 0  # ... and its words' postings (:word_0 …) read in name order, merged, for a page by name
    probed: int = 0  # ... the next search words (:like_1 …) looked up beside it in the postings of :probe_1 …
    count_rows: bool = False  # ... but counted as the rows are (other words are not runs of letters)
    gathered: bool = False  # few matches, counted: found through the indexes and sorted, not walked in order
    long_likes: int = 0  # search_text LIKE :like_0 … (words the index did not take)
    prefix: bool = False  # sort_name in [:low, :high): a search of short words only
    short_likes: int = 0


def _like(word: str) -> str:
    """A LIKE pattern that finds ``word`` anywhere (its wildcards escaped with "/")."""
    return "%" + word.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


# A search word of letters is found through the word postings: the account's words that
# contain it, then how many postings those hold, counted up to WORDS_COUNTED. A list by
# name reads a word's postings in name order, several words merged (up to WORDS_MERGE of
# them), unless it has at most NAME_GATHER postings; other orders gather and sort the
# matches of a word with at most WORDS_GATHER postings, and walk their index otherwise.
NAME_GATHER = 300
WORDS_GATHER = 5_000
WORDS_COUNTED = 5_001
WORDS_MERGE = 16
WORDS_AT_MOST = 64  # a search word inside more words than this is matched as text

_WORDS = SearchWord.__table__
_POSTINGS = CustomerWord.__table__
_WORDS_CONTAINING = (
    select(_WORDS.c.word)
    .where(_WORDS.c.account_id == bindparam("account_id"), _WORDS.c.word.like(bindparam("pattern"), escape="/"))
    .order_by(_WORDS.c.word)
    .limit(WORDS_AT_MOST + 1)
)
_POSTED_IDS = select(_POSTINGS.c.customer_id).where(
    _POSTINGS.c.account_id == bindparam("account_id"), _POSTINGS.c.word.in_(bindparam("words", expanding=True))
)
_POSTINGS_COUNT = select(func.count()).select_from(_POSTED_IDS.limit(bindparam("counted")).subquery())


def _posted_words(session: Session, account_id: int, word: str) -> tuple[int, list[str]] | None:
    """The words that contain a search word of letters and how many postings they hold (up to
    WORDS_COUNTED); None when it is inside too many words to list."""
    connection = session.connection()
    words = list(connection.scalars(_WORDS_CONTAINING, {"account_id": account_id, "pattern": _like(word)}))
    if len(words) > WORDS_AT_MOST:
        return None
    if not words:
        return 0, words
    return connection.scalar(_POSTINGS_COUNT, {"account_id": account_id, "words": words, "counted": WORDS_COUNTED}) or 0, words


def _filter(session: Session, account_id: int, query: Query) -> tuple[_Shape, dict[str, Any]]:
    """The WHERE clause of a list as a shape and its parameters: account, favourites, every search word.

    The rarest search word of letters, measured in the word postings, leads: a rare one's
    matches are gathered and sorted; a common one's are read in name order from its postings
    for a page by name, and counted from them. Otherwise, on SQLite, words that together are
    rare are looked up in the trigram index and the rows found are sorted; common ones are
    matched while reading the account's rows in the list's order, which fills a page quickly.
    PostgreSQL's planner makes that choice itself with the pg_trgm index.
    """
    params: dict[str, Any] = {"account_id": account_id}
    terms = search.words(query.search)
    long_words = [w for w in terms if len(w) >= search.TRIGRAM]
    short_words = [w for w in terms if len(w) < search.TRIGRAM]
    # Each run of letters in a search word can lead ("anna.schmidt": "anna", "schmidt"): a
    # customer whose text holds the word has a word that holds the run. A search word that
    # is not one run stays a condition of its own, and such a word is counted through the
    # trigram index ("1@exam" is much rarer than "exam"): SQLite's count below, PostgreSQL's
    # planner (count_rows).
    sqlite = session.get_bind().dialect.name == "sqlite"
    runs = {r: _posted_words(session, account_id, r) for w in long_words for r in search.WORD.findall(w) if search.is_word(r)}
    found_runs = sorted(((f[0], r, f[1]) for r, f in runs.items() if f is not None), key=lambda x: x[0])
    count_rows = False
    posted = counted = fts = False
    merged = probed = 0
    if found_runs:
        size, run, words = found_runs[0]
        params["words"] = words
        if run in long_words:
            long_words.remove(run)
        if len(words) == 1 and terms == [run] and not query.favourites and size < WORDS_COUNTED:
            params["found"] = size  # one word's postings, one per customer: the count itself
        merge = query.sort == "name" and len(words) <= WORDS_MERGE
        if size <= (NAME_GATHER if merge else WORDS_GATHER):
            posted = True
        else:
            # Other search words that are runs of letters are looked up beside it in the postings.
            probes = [(r, ws) for _, r, ws in found_runs[1:] if r in long_words and len(ws) <= WORDS_MERGE]
            probed = len(probes)
            rest = [w for w in long_words if w not in dict(probes)]
            count_rows = bool(rest) and not sqlite
            counted, long_words = True, [run, *(r for r, _ in probes), *rest]
            params.update({f"probe_{i}": ws for i, (_, ws) in enumerate(probes, 1)})
            merged = len(words) if merge else 0
            params.update({f"word_{i}": w for i, w in enumerate(words[:merged])})
    expression = " AND ".join(_fts_phrase(w) for w in long_words)
    # (common words of letters only: their postings serve)
    if long_words and not posted and not (counted and len(long_words) == 1 + probed) and sqlite:
        in_fts = _fts_matches(session, expression)
        # The trigram index holds every account's rows: its count only says whether its matches are few
        # enough to fetch and sort (this account's are then among them), never how many this account has.
        if in_fts <= SEARCH_COUNT_CAP:
            params["fts_query"] = expression
            fts, long_words, counted, merged, probed = True, [], False, 0, 0
    prefix = bool(short_words) and len(short_words) == len(terms)
    if prefix:
        params["low"], params["high"] = search.prefix_bounds(short_words[0])
        short_words = short_words[1:]
    for index, word in enumerate(long_words + short_words):
        params[f"like_{index}"] = _like(word)
    shape = _Shape(
        favourites=query.favourites, fts=fts, posted=posted, counted=counted, merged=merged, probed=probed, count_rows=count_rows,
        long_likes=len(long_words), prefix=prefix, short_likes=len(short_words),
    )
    return shape, params


@lru_cache(maxsize=512)
def _where(shape: _Shape) -> tuple[ColumnElement[bool], ...]:
    c = CUSTOMERS.c
    # "+ 0" keeps the database from walking the account's sort index: the few rows an index found are sorted instead.
    account = ((c.account_id + 0) if shape.fts or shape.posted or shape.gathered else c.account_id) == bindparam("account_id")
    conds: list[ColumnElement[bool]] = [account]
    if shape.favourites:
        conds.append(c.is_favourite.is_(True))
    if shape.fts:
        conds.append(c.id.in_(_FTS_ROWIDS))
    if shape.posted:
        conds.append(c.id.in_(_POSTED_IDS))
    likes = _likes(shape)
    conds.extend(likes[: shape.long_likes])
    if shape.prefix:
        conds.append(and_(c.sort_name >= bindparam("low"), c.sort_name < bindparam("high")))
    conds.extend(likes[shape.long_likes :])
    return tuple(conds)


def _likes(shape: _Shape) -> list[ColumnElement[bool]]:
    return [CUSTOMERS.c.search_text.like(bindparam(f"like_{i}"), escape="/") for i in range(shape.long_likes + shape.short_likes)]


def _beside_postings(shape: _Shape) -> list[ColumnElement[bool]]:
    """What a customer read from the postings of a common word must also be: the rest of ``_where``
    but the words probed in the postings (``_probes``)."""
    conds = [CUSTOMERS.c.is_favourite.is_(True)] if shape.favourites else []
    return conds + _likes(shape)[1 + shape.probed :]


def _probes(shape: _Shape) -> list[ColumnElement[bool]]:
    """Each probed word: a posting of one of its words for the same customer (found by the postings' key)."""
    p, other = _POSTINGS.c, _POSTINGS.alias("other").c
    return [
        select(other.customer_id)
        .where(
            other.account_id == p.account_id,
            other.word.in_(bindparam(f"probe_{i}", expanding=True)),
            other.sort_name == p.sort_name,
            other.customer_id == p.customer_id,
        )
        .exists()
        for i in range(1, shape.probed + 1)
    ]


def _from_postings(shape: _Shape, word: ColumnElement[bool]):
    p = _POSTINGS.c
    stmt = select(p.customer_id.label("id"), p.sort_name.label("key")).where(p.account_id == bindparam("account_id"), word, *_probes(shape))
    if beside := _beside_postings(shape):
        stmt = stmt.join_from(_POSTINGS, CUSTOMERS, CUSTOMERS.c.id == p.customer_id).where(*beside)
    return stmt


@lru_cache(maxsize=256)
def _posted_count(shape: _Shape, several: bool):
    """A common word's matches counted from its postings, up to the cap (a customer once, when
    ``several`` words hold the search word; one word holds a customer once)."""
    found = _from_postings(shape, _POSTINGS.c.word.in_(bindparam("words", expanding=True))).with_only_columns(_POSTINGS.c.customer_id)
    return select(func.count()).select_from((found.distinct() if several else found).limit(SEARCH_COUNT_CAP + 1).subquery())


@lru_cache(maxsize=256)
def _merged_slice(shape: _Shape, descending: bool):
    """One page by name (:offset, :limit) of a common word's matches: each of its words' postings
    read in name order up to :branch_limit, merged."""

    def direction(col):
        return col.desc() if descending else col.asc()

    p = _POSTINGS.c
    branches = [
        _from_postings(shape, p.word == bindparam(f"word_{i}"))
        .order_by(direction(p.sort_name), direction(p.customer_id))
        .limit(bindparam("branch_limit"))
        for i in range(shape.merged)
    ]
    found = branches[0].subquery() if len(branches) == 1 else union(*(select(b.subquery()) for b in branches)).subquery()
    ids = select(found).order_by(direction(found.c.key), direction(found.c.id)).offset(bindparam("offset")).limit(bindparam("limit")).subquery()
    return select(CUSTOMERS).join(ids, CUSTOMERS.c.id == ids.c.id).order_by(direction(ids.c.key), direction(ids.c.id))


def _page_statement(shape: _Shape, sort: str, descending: bool, params: dict[str, Any]):
    if shape.merged and sort == "name":
        params["branch_limit"] = params["offset"] + params["limit"]
        return _merged_slice(shape, descending)
    return _slice(shape, sort, descending)


def _order(sort: str, descending: bool) -> list[ColumnElement[Any]]:
    column_ = SORT_COLUMNS.get(sort)
    columns = ([column_] if column_ is not None else []) + [Customer.id]
    return [c.desc() if descending else c.asc() for c in columns]




def get(session: Session, account_id: int, customer_id: int) -> Customer | None:
    if not 0 < customer_id <= MAX_ID:
        return None
    return session.execute(_GET, {"account_id": account_id, "customer_id": customer_id}).unique().scalar_one_or_none()


# Built once (building and keying an ORM statement with a loader option costs as much as running it).
# With its addresses in the same statement: every caller shows or binds them (one round trip less).
_GET = (
    select(Customer)
    .options(joinedload(Customer.addresses))
    .where(Customer.account_id == bindparam("account_id"), Customer.id == bindparam("customer_id"))
)


_CUSTOMER_COUNT = select(Account.customer_count).where(Account.id == bindparam("account_id"))
_FAVOURITE_COUNT = select(Account.favourite_count).where(Account.id == bindparam("account_id"))


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool = True


def count(session: Session, account_id: int, query: Query = Query(), where: tuple[_Shape, dict[str, Any]] | None = None) -> Count:
    """How many customers a list holds: exact and O(1) without a search (kept
    counters), exact up to SEARCH_COUNT_CAP with one."""
    query = query.normalised()
    if not query.search:
        kept = _FAVOURITE_COUNT if query.favourites else _CUSTOMER_COUNT
        # Core, not the ORM's execute: half the cost for a single value (counts run on every list).
        return Count(session.connection().scalar(kept, {"account_id": account_id}) or 0)
    shape, params = where or _filter(session, account_id, query)
    if "found" in params:
        value = params["found"]
    else:
        postings = shape.counted and not shape.count_rows
        stmt = _posted_count(shape, len(params["words"]) > 1) if postings else _capped_count(shape)
        value = session.connection().scalar(stmt, params) or 0
    if value > SEARCH_COUNT_CAP:
        return Count(SEARCH_COUNT_CAP, exact=False)
    return Count(value)


@lru_cache(maxsize=512)
def _capped_count(shape: _Shape):
    return select(func.count()).select_from(select(CUSTOMERS.c.id).where(*_where(shape)).limit(SEARCH_COUNT_CAP + 1).subquery())


@lru_cache(maxsize=1024)
def _ordered(shape: _Shape, sort: str, descending: bool):
    """Every matching customer, in a list's order."""
    return select(CUSTOMERS).where(*_where(shape)).order_by(*_order(sort, descending))


@lru_cache(maxsize=1024)
def _slice(shape: _Shape, sort: str, descending: bool):
    """One page of ``_ordered``: :offset and :limit."""
    return _ordered(shape, sort, descending).offset(bindparam("offset")).limit(bindparam("limit"))


@lru_cache(maxsize=512)
def _after(shape: _Shape):
    c = CUSTOMERS.c
    return select(CUSTOMERS).where(*_where(shape), c.id > bindparam("after_id")).order_by(c.id).limit(bindparam("limit"))


def page(
    session: Session, account_id: int, query: Query = Query(), number: int = 1, per_page: int = PAGE_SIZE, addresses: bool = False
) -> Page:
    """One page of a list. Pages past the middle are read from the far end, so the
    last page costs what the first does."""
    query = query.normalised()
    shape, params = _filter(session, account_id, query)
    total = count(session, account_id, query, (shape, params))
    shape = _measured(session, shape, total)
    offset = (number - 1) * per_page
    if total.exact and offset >= total.value:
        items: list[CustomerRecord] = []
    elif total.exact and offset > total.value // 2:
        remaining = total.value - offset
        params = {**params, "offset": max(0, remaining - per_page), "limit": min(per_page, remaining)}
        items = _records(session, _page_statement(shape, query.sort, not query.descending, params), params)[::-1]
    else:
        params = {**params, "offset": offset, "limit": per_page}
        walked = _walked(session, shape, query, params)
        items = walked if walked is not None else _records(session, _page_statement(shape, query.sort, query.descending, params), params)
    if addresses and items:
        _attach_addresses(session, items)
    return Page(items=items, total=total.value, page=number, per_page=per_page, exact=total.exact)


# A common word's page in another order than by name walks that order's index for at most this
# many rows; when they do not hold the page (the matches cluster further on: a city's customers
# sorted by city), its matches are gathered from its postings and sorted instead.
WALK_AT_MOST = 20_000


def _walked(session: Session, shape: _Shape, query: Query, params: dict[str, Any]) -> list[CustomerRecord] | None:
    """A page read by walking the list's order up to WALK_AT_MOST rows, then, if that fell short,
    by gathering the leading word's matches; None when the page is not of that kind."""
    if not shape.counted or shape.merged or shape.count_rows:
        return None
    connection = session.connection()
    bound: Any = connection.execute(_walk_bound(query.sort, query.descending), {**params, "walk": WALK_AT_MOST}).first()
    if bound is None:  # the whole list is within the walk
        return None
    stmt = _bounded_slice(shape, query.sort, query.descending)
    items = _records(session, stmt, {**params, "bound_key": bound[0], "bound_id": bound[-1]})
    if len(items) == params["limit"]:
        return items
    gather = replace(shape, posted=True, counted=False, probed=0)
    return _records(session, _slice(gather, query.sort, query.descending), params)


@lru_cache(maxsize=64)
def _walk_bound(sort: str, descending: bool):
    """The key of the row WALK_AT_MOST rows into the account's list in an order (:walk)."""
    order = _order(sort, descending)
    columns = [CUSTOMERS.c[o.element.name] for o in order]
    return select(*columns).where(CUSTOMERS.c.account_id == bindparam("account_id")).order_by(*order).offset(bindparam("walk")).limit(1)


@lru_cache(maxsize=256)
def _bounded_slice(shape: _Shape, sort: str, descending: bool):
    """``_slice`` up to the walk's bound (:bound_key, :bound_id)."""
    c = CUSTOMERS.c
    column_ = SORT_COLUMNS.get(sort)
    key: ColumnElement[Any]
    bound: ColumnElement[Any]
    if column_ is None:
        key, bound = c.id, bindparam("bound_id")
    else:
        key, bound = tuple_(c[column_.name], c.id), tuple_(bindparam("bound_key"), bindparam("bound_id"))
    return _slice(shape, sort, descending).where(key >= bound if descending else key <= bound)


def _measured(session: Session, shape: _Shape, total: Count) -> _Shape:
    """The plan for a page once its matches are counted: few matches (at most the cap) are found
    through the indexes and sorted rather than sought by walking the list's order, where they may
    lie anywhere (PostgreSQL's planner guesses a trigram search's matches, often 100 times too many)."""
    if not total.exact or shape.fts or shape.posted or shape.merged:
        return shape
    if shape.counted:
        return replace(shape, posted=True, counted=False, probed=0, count_rows=False)
    if shape.long_likes and session.get_bind().dialect.name == "postgresql":
        return replace(shape, gathered=True)
    return shape


def page_after(
    session: Session, account_id: int, after_id: int, query: Query = Query(), per_page: int = PAGE_SIZE, addresses: bool = False
) -> tuple[Page, bool]:
    """The customers after ``after_id`` in id order (a keyset page: the same cost at any depth),
    and whether more follow. ``query`` filters; its sort is ignored."""
    query = query.normalised()
    shape, params = _filter(session, account_id, query)
    total = count(session, account_id, query, (shape, params))
    items = _records(session, _after(shape), {**params, "after_id": after_id, "limit": per_page + 1})
    more = len(items) > per_page
    items = items[:per_page]
    if addresses and items:
        _attach_addresses(session, items)
    return Page(items=items, total=total.value, page=0, per_page=per_page, exact=total.exact), more


CUSTOMERS = Customer.__table__
ADDRESSES = Address.__table__


def records(session: Session, account_id: int, ids: list[int]) -> list[CustomerRecord]:
    """The account's customers of ``ids`` that exist, with their addresses (in no particular order)."""
    items = _records(session, _BY_IDS, {"account_id": account_id, "ids": ids}) if ids else []
    if items:
        _attach_addresses(session, items)
    return items


_BY_IDS = select(CUSTOMERS).where(CUSTOMERS.c.account_id == bindparam("account_id"), CUSTOMERS.c.id.in_(bindparam("ids", expanding=True)))


_ADDRESSES_OF = (
    select(ADDRESSES)
    .where(ADDRESSES.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(ADDRESSES.c.customer_id, ADDRESSES.c.kind, ADDRESSES.c.position)
)


def _as_records(result, kind: type[Record] = CustomerRecord) -> Iterator:
    keys = list(result.keys())
    for row in result:
        yield kind(dict(zip(keys, row)))


def _records(session: Session, stmt, params: dict[str, Any] | None = None) -> list[CustomerRecord]:
    return list(_as_records(session.connection().execute(stmt, params)))


def _attach_addresses(session: Session, items: list[CustomerRecord]) -> None:
    """Every address of ``items`` in one query, in the order the mapped relationship keeps."""
    by_customer: dict[int, list[Record]] = {item.id: [] for item in items}
    for address in _as_records(session.connection().execute(_ADDRESSES_OF, {"ids": list(by_customer)}), Record):
        by_customer[address.customer_id].append(address)
    for item in items:
        item.addresses = by_customer[item.id]


def stream(session: Session, account_id: int, query: Query = Query(), batch: int = 500) -> Iterator[CustomerRecord]:
    """Every matching customer (without addresses), in order, fetched in batches (for printing and export)."""
    query = query.normalised()
    shape, params = _filter(session, account_id, query)
    stmt = _ordered(shape, query.sort, query.descending).execution_options(yield_per=batch)
    yield from _as_records(session.connection().execute(stmt, params))


def stream_with_addresses(session: Session, account_id: int, query: Query = Query(), batch: int = 500) -> Iterator[CustomerRecord]:
    """``stream`` with every customer's addresses, read for each batch in one query (for export)."""
    pending: list[CustomerRecord] = []
    for item in stream(session, account_id, query, batch):
        pending.append(item)
        if len(pending) == batch:
            _attach_addresses(session, pending)
            yield from pending
            pending = []
    if pending:
        _attach_addresses(session, pending)
        yield from pending


_SHIPPING_COUNTS = (
    select(func.count().label("n"))
    .where(ADDRESSES.c.account_id == bindparam("account_id"), ADDRESSES.c.kind == SHIPPING)
    .group_by(ADDRESSES.c.customer_id)
    .subquery()
)
_MOST_SHIPPING = select(func.max(_SHIPPING_COUNTS.c.n))


def most_shipping_addresses(session: Session, account_id: int) -> int:
    """The most shipping addresses any customer of the account has (an export's columns for them)."""
    return session.connection().scalar(_MOST_SHIPPING, {"account_id": account_id}) or 0


# -- writes ----------------------------------------------------------------


def _account_change(session: Session, account_id: int, customers: int = 0, favourites: int = 0, scoped_ids: int = 0) -> tuple[int, int]:
    """Every change to an account's customers calls this once, in its transaction:
    it adjusts the account's counters and raises its customers revision (under
    the account's row lock). Returns the last scoped id handed out and the number of
    the change's event (history.record): numbered under the lock, held to the commit,
    events are numbered in the order they commit (the changes feed relies on it)."""
    # The pending changes first: the account's row lock, which every change in the account
    # waits for, is then held only from here to the commit.
    session.flush()
    values = {"account_id": account_id, "customers": customers, "favourites": favourites, "scoped_ids": scoped_ids}
    scoped_id, seq = session.connection().execute(_ACCOUNT_CHANGE, values).one()
    return scoped_id, seq


# Built once, on the table: through the ORM, building the statement and its bulk-update
# bookkeeping cost a quarter of an inline save. No Account is loaded in these transactions.
_ACCOUNTS = cast(Table, Account.__table__)
_ACCOUNT_CHANGE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(
        customer_seq=_ACCOUNTS.c.customer_seq + bindparam("scoped_ids"),
        customer_count=_ACCOUNTS.c.customer_count + bindparam("customers"),
        favourite_count=_ACCOUNTS.c.favourite_count + bindparam("favourites"),
        customers_revision=_ACCOUNTS.c.customers_revision + 1,
        change_seq=_ACCOUNTS.c.change_seq + 1,
    )
    .returning(_ACCOUNTS.c.customer_seq, _ACCOUNTS.c.change_seq)
)


def _apply(customer: Customer, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name not in ("billing_address", "shipping_address"):
            setattr(customer, name, value)
    billing = customer.billing_address
    if billing is None:
        billing = Address(account_id=customer.account_id, kind=BILLING, position=0)
        customer.addresses.append(billing)
    _apply_address(billing, data.get("billing_address") or {})
    existing = {a.id: a for a in customer.shipping_addresses}
    for position, entry in enumerate(data.get("shipping_address") or []):
        address = existing.pop(entry.get("id"), None) if entry.get("id") else None
        if address is None:
            address = Address(account_id=customer.account_id, kind=SHIPPING)
            customer.addresses.append(address)
        address.position = position
        _apply_address(address, entry)
    for address in existing.values():
        customer.addresses.remove(address)
    # In memory in the order a read gives them (the relationship's order_by), as they are shown.
    customer.addresses.sort(key=lambda a: (a.kind, a.position))
    customer.refresh_derived()


def _apply_address(address: Address, data: dict[str, Any]) -> None:
    for name in ADDRESS_FIELDS:
        if name in data:
            setattr(address, name, data[name] or "")


class VersionConflict(Exception):
    """The customer changed since the version the caller based its change on (and, for a merged
    update, ``merge`` tells which fields both changed)."""

    def __init__(self, customer: Customer, merge: Merge | None = None) -> None:
        super().__init__(f"customer {customer.id} is at version {customer.version}")
        self.customer = customer
        self.merge = merge


def create(session: Session, account_id: int, data: dict[str, Any], who: Who = SYSTEM) -> Customer:
    begin_write(session)
    favourite = 1 if data.get("is_favourite") else 0
    scoped_id, seq = _account_change(session, account_id, customers=1, favourites=favourite, scoped_ids=1)
    customer = Customer(account_id=account_id, account_scoped_id=scoped_id, addresses=[])
    _apply(customer, data)
    session.add(customer)
    session.flush()
    history.record(session, seq, customer.id, account_id, "create", who, history.diff({}, history.snapshot(customer)))
    session.commit()
    return customer


def get_for_update(session: Session, account_id: int, customer_id: int) -> Customer | None:
    """Read a customer to change it: holds the row (PostgreSQL) or the write lock (SQLite)
    until the transaction ends, so concurrent partial updates never undo each other."""
    if not 0 < customer_id <= MAX_ID:
        return None
    begin_write(session)
    customer = session.scalar(_GET_FOR_UPDATE, {"account_id": account_id, "customer_id": customer_id})
    if customer is None:
        session.rollback()  # nothing to change: the write lock is not held while the caller answers
    return customer


_GET_FOR_UPDATE = (
    select(Customer)
    .where(Customer.account_id == bindparam("account_id"), Customer.id == bindparam("customer_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
    .options(selectinload(Customer.addresses))
)


def _check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != customer.version:
        raise VersionConflict(customer)


def update_customer(
    session: Session, customer: Customer, data: dict[str, Any], who: Who = SYSTEM, expected_version: int | None = None
) -> Customer:
    """Apply validated form data to a customer read with ``get_for_update``.

    With ``expected_version``, refuse (VersionConflict) if someone changed the
    customer since; nothing is written then. Data that changes no field writes
    nothing either (no version, no ``updated_at``, no history event): a form
    saved unchanged, from either face, leaves the customer as it was.
    """
    _check_version(customer, expected_version)
    return _update(session, customer, data, who)


def update_merged(session: Session, customer: Customer, data: dict[str, Any], who: Who, base_version: int) -> tuple[Customer, Merge | None]:
    """Save a whole form's ``data``, based on ``base_version``, into a customer read with ``get_for_update``.

    If others changed the customer since, their changes are merged in (see app/customers/merge.py): the
    fields only they changed keep their values. If both changed a field differently, nothing is written:
    VersionConflict, with the merge. Returns the customer and the merge (None if nobody came between)."""
    if base_version == customer.version:
        return _update(session, customer, data, who), None
    merged = merge(session, customer, data, base_version)
    if merged.conflicts:
        raise VersionConflict(customer, merged)
    return _update(session, customer, merged.data, who), merged


def _update(session: Session, customer: Customer, data: dict[str, Any], who: Who) -> Customer:
    before = history.snapshot(customer)
    was_favourite = customer.is_favourite
    _apply(customer, data)
    changes = history.diff(before, history.snapshot(customer))
    if not changes:
        # Not even what _apply recomputed (search text, sort name) is flushed: the transaction ends
        # without a write, and the customer is read again as it is stored (the rollback expired what
        # _apply changed in memory: addresses made, removed or moved, a billing address made for
        # one that was missing), so that what is shown is what is stored.
        session.rollback()
        return get(session, customer.account_id, customer.id) or customer
    customer.updated_at = utcnow()
    _, seq = _account_change(session, customer.account_id, favourites=int(customer.is_favourite) - int(was_favourite))
    history.record(session, seq, customer.id, customer.account_id, "update", who, changes)
    session.commit()
    return customer


def set_favourite(session: Session, account_id: int, customer_id: int, favourite: bool, who: Who = SYSTEM) -> Customer | None:
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        return None
    if customer.is_favourite != favourite:
        _set_flag(session, customer, "is_favourite", favourite, who)
    session.commit()
    return customer


def _set_flag(session: Session, customer: Customer, name: str, value: bool, who: Who) -> None:
    old = getattr(customer, name)
    setattr(customer, name, value)
    customer.updated_at = utcnow()
    favourites = (1 if value else -1) if name == "is_favourite" else 0
    _, seq = _account_change(session, customer.account_id, favourites=favourites)
    history.record(session, seq, customer.id, customer.account_id, "update", who, {name: [old, value]})


def _to_trash(session: Session, customer: Customer, who: Who, at: datetime | None = None) -> None:
    data = history.snapshot(customer)
    data["created_at"] = customer.created_at.isoformat()
    data["version"] = customer.version
    # The addresses' ids, so that a restore gives them back (an integration may hold them).
    billing = customer.billing_address
    data["address_ids"] = {"billing": billing.id if billing else None, "shipping": [a.id for a in customer.shipping_addresses]}
    session.add(
        TrashedCustomer(
            account_id=customer.account_id,
            customer_id=customer.id,
            account_scoped_id=customer.account_scoped_id,
            label=(customer.display_name or f"Customer #{customer.account_scoped_id}")[:300],
            data=data,
            deleted_at=at or utcnow(),
            deleted_by=who.label[:254],
        )
    )
    _, seq = _account_change(session, customer.account_id, customers=-1, favourites=-1 if customer.is_favourite else 0)
    history.record(session, seq, customer.id, customer.account_id, "delete", who, {})
    session.delete(customer)


def delete(session: Session, account_id: int, customer_id: int, who: Who = SYSTEM, expected_version: int | None = None) -> bool:
    """Move a customer to the trash (restorable for trash.RETENTION_DAYS)."""
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        return False
    _check_version(customer, expected_version)
    trash_customer(session, customer, who)
    return True


def trash_customer(session: Session, customer: Customer, who: Who = SYSTEM) -> None:
    """Move a customer read with ``get_for_update`` to the trash, and commit."""
    _to_trash(session, customer, who)
    session.commit()


def restore(session: Session, account_id: int, customer_id: int, who: Who = SYSTEM) -> Customer | None:
    """Bring a customer back from the trash, with its id and number if they are free."""
    begin_write(session)
    trashed = trash.get(session, account_id, customer_id)
    if trashed is None:
        session.rollback()
        return None
    customer = _restore(session, trashed, who)
    session.commit()
    return customer


def restore_many(session: Session, account_id: int, customer_ids: list[int], who: Who = SYSTEM) -> int:
    """Bring customers back from the trash in one transaction; returns how many came back
    (ids no longer in the trash are skipped)."""
    begin_write(session)
    restored = 0
    for customer_id in dict.fromkeys(i for i in customer_ids if 0 < i <= MAX_ID):
        trashed = trash.get(session, account_id, customer_id)
        if trashed is not None:
            _restore(session, trashed, who)
            restored += 1
    session.commit()
    return restored


def restore_deleted_together(session: Session, account_id: int, deleted_at: datetime, who: Who = SYSTEM) -> int:
    """Undo one bulk delete of ``who``: bring back what it moved to the trash (and is still there)."""
    begin_write(session)
    batch = trash.deleted_together(session, account_id, deleted_at, who.label[:254])
    for trashed in batch:
        _restore(session, trashed, who)
    session.commit()
    return len(batch)


def _restore(session: Session, trashed: TrashedCustomer, who: Who) -> Customer:
    account_id = trashed.account_id
    data = dict(trashed.data)
    taken = session.scalar(select(Customer.id).where(Customer.id == trashed.customer_id)) is not None
    fields = {name: data.get(name) for name in history.SCALARS}
    birthday = fields.get("birthday")
    if birthday:
        fields["birthday"] = datetime.fromisoformat(birthday)
    customer = Customer(
        id=None if taken else trashed.customer_id,
        account_id=account_id,
        account_scoped_id=trashed.account_scoped_id,
        created_at=datetime.fromisoformat(data["created_at"]) if data.get("created_at") else utcnow(),
        version=int(data.get("version") or 1),
        addresses=[],
    )
    _apply(customer, {**fields, "billing_address": data.get("billing_address") or {}, "shipping_address": data.get("shipping_address") or []})
    _keep_address_ids(session, customer, data.get("address_ids") or {})
    session.add(customer)
    session.flush()
    # The version goes on from the deleted one's (an insert starts at 1): a form opened before the delete
    # meets the restore as a change made since (app/customers/merge.py counts it as one).
    restored_version = int(data.get("version") or 1) + 1
    session.execute(update(Customer).where(Customer.id == customer.id).values(version=restored_version).execution_options(synchronize_session=False))
    set_committed_value(customer, "version", restored_version)
    _, seq = _account_change(session, account_id, customers=1, favourites=1 if customer.is_favourite else 0)
    history.record(session, seq, customer.id, account_id, "restore", who, {})
    session.delete(trashed)
    return customer


def _keep_address_ids(session: Session, customer: Customer, ids: dict[str, Any]) -> None:
    """Give a restored customer's addresses the ids they had before the delete, where still free."""
    wanted = [(customer.billing_address, ids.get("billing")), *zip(customer.shipping_addresses, ids.get("shipping") or [], strict=False)]
    wanted = [(address, i) for address, i in wanted if address is not None and isinstance(i, int)]
    if not wanted:
        return
    taken = set(session.scalars(select(Address.id).where(Address.id.in_([i for _, i in wanted]))))
    for address, i in wanted:
        if i not in taken:
            address.id = i


BULK_ACTIONS = ("favourite", "unfavourite", "delete")
BULK_LIMIT = 5_000


def bulk(session: Session, account_id: int, ids: list[int], action: str, who: Who = SYSTEM, at: datetime | None = None) -> int:
    """Favourite, unfavourite or delete many customers in one transaction; returns how many changed.
    A delete stamps every customer it moves to the trash with the same time, ``at`` (now if not
    given): ``restore_deleted_together`` undoes it by that time."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    begin_write(session)
    at = at or utcnow()
    changed = 0
    ids = [i for i in ids if 0 < i <= MAX_ID]
    for start in range(0, len(ids), 500):
        stmt = (
            select(Customer)
            .where(Customer.account_id == account_id, Customer.id.in_(ids[start : start + 500]))
            .with_for_update()
            .options(selectinload(Customer.addresses))
        )
        for customer in session.scalars(stmt):
            if action == "delete":
                _to_trash(session, customer, who, at)
                changed += 1
            elif customer.is_favourite != (action == "favourite"):
                _set_flag(session, customer, "is_favourite", action == "favourite", who)
                changed += 1
    session.commit()
    return changed


def matching_ids(session: Session, account_id: int, query: Query, limit: int = BULK_LIMIT) -> list[int]:
    """The ids a list shows, in its order, up to ``limit`` (for "select all matching")."""
    query = query.normalised()
    shape, params = _filter(session, account_id, query)
    stmt = _slice(shape, query.sort, query.descending).with_only_columns(CUSTOMERS.c.id)
    return list(session.connection().scalars(stmt, {**params, "offset": 0, "limit": limit}))
