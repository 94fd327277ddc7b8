"""Customers who have every one of several search words, found by intersecting their word postings.

Each search word of letters is held by the customers with a posting of one of the words that
contain it (``customer_words``), and every word's postings are kept in name order
(``sort_name``, customer id). The customers who hold all the search words are therefore the
intersection of a few sorted lists, which is read in name order by leapfrogging: each list is
sought from the largest head of the others, so that whole runs that cannot match are skipped
with one index seek. "anna schmidt" reads the run of Schmidts named Anna (or Hannah) and
seeks over everything else; its cost follows the matches, not the 20,000 Schmidts.

Lists are read in blocks that grow while a list is read on (a run of matches), and the part
of the blocks that every list covers is intersected at once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, select, tuple_
from sqlalchemy.sql.compiler import SQLCompiler

from app.customers.models import CustomerWord

_P = CustomerWord.__table__.c
# One word's postings from a key on (:key, :key_id), in name order, a block (:block) at a time.
_FROM = (
    select(_P.sort_name, _P.customer_id)
    .where(
        _P.account_id == bindparam("account_id"),
        _P.word == bindparam("word"),
        tuple_(_P.sort_name, _P.customer_id) >= tuple_(bindparam("key"), bindparam("key_id")),
    )
    .order_by(_P.sort_name, _P.customer_id)
    .limit(bindparam("block"))
)



def _fetch(connection: Connection, params: dict[str, Any]) -> list[Key]:
    """``_FROM``'s rows as plain tuples, on the driver's cursor (through the result's rows, reading the
    postings cost several times the reading itself)."""
    compiled = _compiled(connection.dialect)
    values: Any = compiled.construct_params(params)
    arguments = [values[name] for name in compiled.positiontup or ()] if compiled.positional else values
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, arguments)
        rows: list[tuple[str, int]] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


@lru_cache(maxsize=4)
def _compiled(dialect: Dialect) -> SQLCompiler:
    return _FROM.compile(dialect=dialect)


FIRST_BLOCK = 64
LAST_BLOCK = 512
Key = tuple[str, int]
_END: Key = ("\U0010ffff" * 2, 2**63)  # after every key: a list read to its end covers everything


class _Word:
    """One word's postings, read in blocks from the key sought."""

    def __init__(self, connection: Connection, account_id: int, word: str) -> None:
        self.connection, self.params = connection, {"account_id": account_id, "word": word}
        self.rows: list[Key] = []
        self.start: Key = ("", 0)  # the rows hold every posting from here ...
        self.covered: Key = ("", -1)  # ... up to here (_END: to the end)
        self.block = FIRST_BLOCK

    def head(self, key: Key) -> Key | None:
        """The first posting at or after ``key`` (None: there is none)."""
        if not self.start <= key <= self.covered:
            self._read(key)
        i = bisect_left(self.rows, key)
        return self.rows[i] if i < len(self.rows) else None

    def between(self, low: Key, high: Key) -> list[Key]:
        """The postings from ``low`` to ``high`` (both within what was read)."""
        return self.rows[bisect_left(self.rows, low) : bisect_right(self.rows, high)]

    def _read(self, key: Key) -> None:
        # Each read of a word reads a longer block than the last: a run of matches is read in a few reads,
        # and a leap reads at most LAST_BLOCK postings it does not need.
        self.block = min(self.block * 4, LAST_BLOCK) if self.rows else FIRST_BLOCK
        params = {**self.params, "key": key[0], "key_id": key[1], "block": self.block}
        self.rows = _fetch(self.connection, params)
        self.start = key
        self.covered = _END if len(self.rows) < self.block else self.rows[-1]


class _Words:
    """A search word's postings: those of every word that contains it, merged."""

    def __init__(self, connection: Connection, account_id: int, words: list[str]) -> None:
        self.words = [_Word(connection, account_id, w) for w in words]

    def head(self, key: Key) -> Key | None:
        heads = [h for w in self.words if (h := w.head(key)) is not None]
        return min(heads) if heads else None

    def covered(self) -> Key:
        return min(w.covered for w in self.words)

    def covers(self, key: Key) -> bool:
        return all(w.start <= key <= w.covered for w in self.words)

    def between(self, low: Key, high: Key) -> set[Key]:
        return {k for w in self.words for k in w.between(low, high)}


def intersection(connection: Connection, account_id: int, lists: list[list[str]], need: int) -> list[int]:
    """The first ``need`` customers, in name order, with a posting in every one of ``lists``
    (each the words that contain one search word); fewer when there are no more."""
    readers = [_Words(connection, account_id, words) for words in lists]
    found: list[int] = []
    key: Key = ("", 0)
    while len(found) < need:
        # Leapfrog: each list's head from the key on becomes the key, until every list holds it. Lists
        # that hold the key in what they read go first: a leap they make saves the others a read.
        order = sorted(readers, key=lambda r: not r.covers(key))
        agreed, turn = 0, 0
        while agreed < len(order):
            head = order[turn % len(order)].head(key)
            if head is None:
                return found
            agreed, key = (agreed + 1, key) if head == key else (1, head)
            turn += 1
        # Every list holds ``key``: intersect what all of them have read from it on at once.
        high = min(r.covered() for r in readers)
        common: Any = readers[0].between(key, high)
        for r in readers[1:]:
            common &= r.between(key, high)
        found.extend(customer_id for _, customer_id in sorted(common))
        if high == _END:
            break
        key = (high[0], high[1] + 1)
    return found[:need]
