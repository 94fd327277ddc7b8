"""How a list of customers is read: the plan of a search and the statements of each plan's shape.

``plan`` turns a list's query (search, favourites, order) into a ``Shape`` (the structure of its
WHERE clause) and the parameters bound to it; the statements of each shape are built once
(``where``, ``page_slice``, ``capped_count`` ...): building and keying a statement cost as much as
running a page of it. app/customers/service.py runs them; app/customers/search.py says what a
customer is found by; app/customers/postings.py intersects word postings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, and_, bindparam, column, func, select, table, text, tuple_, union
from sqlalchemy.orm import Session

from app.customers import postings, search
from app.customers.models import Customer, CustomerWord, SearchWord
from app.shared.inputs import search_text

CUSTOMERS = Customer.__table__

# A statement over the columns of Core tables, whose columns carry no Python types.
Rows = Select[*tuple[Any, ...]]


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


_FTS_COUNT = select(func.count()).select_from(_FTS_ROWIDS.limit(bindparam("fts_counted")).subquery())
# SQLite: a fragment the trigram index finds in at most this many rows (of every account) has them fetched
# and sorted; with more, the account's rows are read in the list's order and matched (LIKE) until a page is full.
# Digits are rarely common, and where they are rare among the rows, reading in order finds few per thousand.
FTS_GATHER = 10_000


def _fts_matches(session: Session, expression: str) -> int:
    """How many rows of every account the trigram index finds, counted up to one more than FTS_GATHER."""
    return session.connection().scalar(_FTS_COUNT, {"fts_query": expression, "fts_counted": FTS_GATHER + 1}) or 0


@dataclass(frozen=True)
class Shape:
    """The structure of a list's WHERE clause; its values are bound parameters (``plan``).
    Statements are built once per shape (``where`` and the builders below): building and keying a
    statement cost as much as running a page of it."""

    favourites: bool = False
    fts: bool = False  # SQLite: ids found in the trigram index (:fts_query)
    posted: bool = False  # ids found in the word postings of :words (a rare word: its matches are sorted)
    counted: bool = False  # a common word: :like_0, counted from the postings of :words
    merged: int = 0  # ... and its words' postings (:word_0 …) read in name order, merged, for a page by name
    probed: int = 0  # ... the next search words (:like_1 …) looked up beside it in the postings of :probe_1 …
    count_rows: bool = False  # ... but counted as the rows are (other words are not runs of letters)
    gathered: bool = False  # few matches, counted: found through the indexes and sorted, not walked in order
    listed: bool = False  # every match is known: the ids :ids (several common words' postings intersected)
    long_likes: int = 0  # search_text LIKE :like_0 … (words the index did not take)
    prefix: bool = False  # sort_name in [:low, :high): a search of short words only
    prefix_walked: bool = False  # ... tested on each row while the list's order is read (many matches, another order)
    short_likes: int = 0


def like(word: str) -> str:
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


def _containing(session: Session, account_id: int, word: str) -> list[str] | None:
    """The words that contain a search word of letters; None when it is inside too many words to list."""
    words = list(session.connection().scalars(_WORDS_CONTAINING, {"account_id": account_id, "pattern": like(word)}))
    return None if len(words) > WORDS_AT_MOST else words


def _posted(session: Session, account_id: int, words: list[str], counted: int) -> int:
    """How many postings ``words`` hold, counted up to ``counted``."""
    if not words:
        return 0
    return session.connection().scalar(_POSTINGS_COUNT, {"account_id": account_id, "words": words, "counted": counted}) or 0


def plan(session: Session, account_id: int, query: Query) -> tuple[Shape, dict[str, Any]]:
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
    letters = list(dict.fromkeys(r for w in long_words for r in search.WORD.findall(w) if search.is_word(r)))
    contained = {r: _containing(session, account_id, r) for r in letters}
    listed = {r: words for r, words in contained.items() if words is not None}
    # Postings are counted only as far as the plan needs: several words that can be intersected, to tell
    # whether the rarest is few enough to gather; a single word's page by name, to the cap.
    intersect = _intersects(query, terms, contained)
    if intersect:
        counted_to = NAME_GATHER + 1
    elif len(letters) > 1 or query.sort != "name":
        counted_to = WORDS_COUNTED
    else:
        counted_to = max(NAME_GATHER, SEARCH_COUNT_CAP) + 1
    found_runs = sorted(((_posted(session, account_id, ws, counted_to), r, ws) for r, ws in listed.items()), key=lambda x: x[0])
    if intersect and found_runs[0][0] > NAME_GATHER:
        common = postings.intersection(session.connection(), account_id, [ws for _, _, ws in found_runs], SEARCH_COUNT_CAP + 1)
        if len(common) <= SEARCH_COUNT_CAP:
            return Shape(listed=True), {"account_id": account_id, "ids": common, "by_name": common, "found": len(common)}
        # More than the cap: the first pages by name are known, and the count; other pages are planned below.
        params.update(found=len(common), by_name=common)
        counted_to = WORDS_COUNTED
        found_runs = sorted(((_posted(session, account_id, ws, counted_to), r, ws) for _, r, ws in found_runs), key=lambda x: x[0])
    count_rows = False
    posted = counted = fts = False
    merged = probed = 0
    if found_runs:
        size, run, words = found_runs[0]
        params["words"] = words
        if run in long_words:
            long_words.remove(run)
        if len(words) == 1 and terms == [run] and not query.favourites and (size < counted_to or counted_to > SEARCH_COUNT_CAP):
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
        if in_fts <= FTS_GATHER:
            params["fts_query"] = expression
            fts, long_words, counted, merged, probed = True, [], False, 0, 0
    prefix = bool(short_words) and len(short_words) == len(terms)
    if prefix:
        params["low"], params["high"] = search.prefix_bounds(short_words[0])
        short_words = short_words[1:]
    for index, word in enumerate(long_words + short_words):
        params[f"like_{index}"] = like(word)
    shape = Shape(
        favourites=query.favourites, fts=fts, posted=posted, counted=counted, merged=merged, probed=probed, count_rows=count_rows,
        long_likes=len(long_words), prefix=prefix, short_likes=len(short_words),
    )
    return shape, params


def _intersects(query: Query, terms: list[str], contained: dict[str, list[str] | None]) -> bool:
    """Whether a search is several search words, each a run of letters found in a few words: the
    customers who hold them all are then read in name order from the intersection of their postings
    (app/customers/postings.py), up to one more than the cap."""
    return (
        not query.favourites
        and len(contained) > 1
        and sorted(contained) == sorted(terms)
        and all(words is not None and len(words) <= WORDS_MERGE for words in contained.values())
    )


@lru_cache(maxsize=512)
def where(shape: Shape) -> tuple[ColumnElement[bool], ...]:
    c = CUSTOMERS.c
    # "+ 0" keeps the database from walking the account's sort index: the few rows an index found are sorted instead.
    account = ((c.account_id + 0) if shape.fts or shape.posted or shape.gathered or shape.listed else c.account_id) == bindparam("account_id")
    conds: list[ColumnElement[bool]] = [account]
    if shape.listed:
        conds.append(c.id.in_(bindparam("ids", expanding=True)))
    if shape.favourites:
        conds.append(c.is_favourite.is_(True))
    if shape.fts:
        conds.append(c.id.in_(_FTS_ROWIDS))
    if shape.posted:
        conds.append(c.id.in_(_POSTED_IDS))
    likes = _likes(shape)
    conds.extend(likes[: shape.long_likes])
    if shape.prefix:
        # Tested on the row, the name is no index the database could take instead of the list's order's.
        name = c.sort_name.concat("") if shape.prefix_walked else c.sort_name
        conds.append(and_(name >= bindparam("low"), name < bindparam("high")))
    conds.extend(likes[shape.long_likes :])
    return tuple(conds)


def _likes(shape: Shape) -> list[ColumnElement[bool]]:
    return [CUSTOMERS.c.search_text.like(bindparam(f"like_{i}"), escape="/") for i in range(shape.long_likes + shape.short_likes)]


def _beside_postings(shape: Shape) -> list[ColumnElement[bool]]:
    """What a customer read from the postings of a common word must also be: the rest of ``where``
    but the words probed in the postings (``_probes``)."""
    conds = [CUSTOMERS.c.is_favourite.is_(True)] if shape.favourites else []
    return conds + _likes(shape)[1 + shape.probed :]


def _probes(shape: Shape) -> list[ColumnElement[bool]]:
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


def _from_postings(shape: Shape, word: ColumnElement[bool]) -> Rows:
    p = _POSTINGS.c
    stmt = select(p.customer_id.label("id"), p.sort_name.label("key")).where(p.account_id == bindparam("account_id"), word, *_probes(shape))
    if beside := _beside_postings(shape):
        stmt = stmt.join_from(_POSTINGS, CUSTOMERS, CUSTOMERS.c.id == p.customer_id).where(*beside)
    return stmt


@lru_cache(maxsize=256)
def posted_count(shape: Shape, several: bool) -> Select[int]:
    """A common word's matches counted from its postings, up to the cap (a customer once, when
    ``several`` words hold the search word; one word holds a customer once)."""
    found = _from_postings(shape, _POSTINGS.c.word.in_(bindparam("words", expanding=True))).with_only_columns(_POSTINGS.c.customer_id)
    return select(func.count()).select_from((found.distinct() if several else found).limit(SEARCH_COUNT_CAP + 1).subquery())


@lru_cache(maxsize=256)
def _merged_slice(shape: Shape, descending: bool) -> Rows:
    """One page by name (:offset, :limit) of a common word's matches: each of its words' postings
    read in name order up to :branch_limit, merged."""

    def direction(col: ColumnElement[Any]) -> UnaryExpression[Any]:
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


def page_statement(shape: Shape, sort: str, descending: bool, params: dict[str, Any]) -> Rows:
    if shape.merged and sort == "name":
        params["branch_limit"] = params["offset"] + params["limit"]
        return _merged_slice(shape, descending)
    return page_slice(shape, sort, descending)


def sort_order(sort: str, descending: bool) -> list[ColumnElement[Any]]:
    column_ = SORT_COLUMNS.get(sort)
    columns = ([column_] if column_ is not None else []) + [Customer.id]
    return [c.desc() if descending else c.asc() for c in columns]


@lru_cache(maxsize=512)
def capped_count(shape: Shape) -> Select[int]:
    return select(func.count()).select_from(select(CUSTOMERS.c.id).where(*where(shape)).limit(SEARCH_COUNT_CAP + 1).subquery())


@lru_cache(maxsize=1024)
def ordered(shape: Shape, sort: str, descending: bool) -> Rows:
    """Every matching customer, in a list's order."""
    return select(CUSTOMERS).where(*where(shape)).order_by(*sort_order(sort, descending))


@lru_cache(maxsize=1024)
def page_slice(shape: Shape, sort: str, descending: bool) -> Rows:
    """One page of ``ordered``: :offset and :limit."""
    return ordered(shape, sort, descending).offset(bindparam("offset")).limit(bindparam("limit"))


@lru_cache(maxsize=512)
def after(shape: Shape) -> Rows:
    c = CUSTOMERS.c
    return select(CUSTOMERS).where(*where(shape), c.id > bindparam("after_id")).order_by(c.id).limit(bindparam("limit"))


@lru_cache(maxsize=64)
def walk_bound(sort: str, descending: bool) -> Rows:
    """The key of the row WALK_AT_MOST rows into the account's list in an order (:walk)."""
    order = sort_order(sort, descending)
    columns = [CUSTOMERS.c[o.element.name] for o in order]
    return select(*columns).where(CUSTOMERS.c.account_id == bindparam("account_id")).order_by(*order).offset(bindparam("walk")).limit(1)


@lru_cache(maxsize=256)
def bounded_slice(shape: Shape, sort: str, descending: bool) -> Rows:
    """``page_slice`` up to the walk's bound (:bound_key, :bound_id)."""
    c = CUSTOMERS.c
    column_ = SORT_COLUMNS.get(sort)
    key: ColumnElement[Any]
    bound: ColumnElement[Any]
    if column_ is None:
        key, bound = c.id, bindparam("bound_id")
    else:
        key, bound = tuple_(c[column_.name], c.id), tuple_(bindparam("bound_key"), bindparam("bound_id"))
    return page_slice(shape, sort, descending).where(key >= bound if descending else key <= bound)


# Matches of one or two letters sorted otherwise than by name: up to this many are gathered and sorted.
PREFIX_GATHER = SEARCH_COUNT_CAP


def measured(session: Session, shape: Shape, matches: int, exact: bool, sort: str) -> Shape:
    """The plan for a page once its matches are counted: few matches (at most the cap) are found
    through the indexes and sorted rather than sought by walking the list's order, where they may
    lie anywhere (PostgreSQL's planner guesses a trigram search's matches, often 100 times too many).
    Many matches of one or two letters in another order than by name are sought by walking it (SQLite
    gathered and sorted the 100,000 names that start with "k")."""
    if shape.prefix and sort != "name" and (not exact or matches > PREFIX_GATHER):
        return replace(shape, prefix_walked=True)
    if not exact or shape.fts or shape.posted or shape.merged or shape.listed:
        return shape
    if shape.counted:
        return replace(shape, posted=True, counted=False, probed=0, count_rows=False)
    if shape.long_likes and session.get_bind().dialect.name == "postgresql":
        return replace(shape, gathered=True)
    return shape


CUSTOMERS = Customer.__table__
