"""What a customer is found and sorted by.

Search runs over one folded column, ``search_text``: case and diacritics are
removed (``Müller`` → ``muller``, ``ß`` → ``ss``) on both sides, so "Muller"
finds "Müller" on every database. SQLite indexes it with FTS5's trigram
tokenizer (``customers_fts``, external content kept by triggers), PostgreSQL
with a pg_trgm GIN index. Words of fewer than three letters cannot use a
trigram index; a query made only of such words matches the start of the
folded name (last name first), which has a B-tree index.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from typing import Any

import psycopg

SPECIAL = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "œ": "oe", "Œ": "oe"})
TRIGRAM = 3


def fold(text: str) -> str:
    """Lower case without diacritics: what search and name sorting compare."""
    text = unicodedata.normalize("NFKD", (text or "").translate(SPECIAL))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def search_text(first_name: str, last_name: str, company: str, email: str, phone: str, city: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    parts = [first_name, last_name, company, email, phone, digits, city]
    return fold(" ".join(p for p in parts if p))


def sort_name(first_name: str, last_name: str, company: str) -> str:
    """Last name first; a company without a person's name sorts by the company."""
    name = " ".join(p for p in (last_name, first_name) if p) or company or ""
    return fold(name)[:300]


def words(query: str) -> list[str]:
    """The folded words of a search, longest first (the most selective trigram lookups first)."""
    folded = fold(query)
    return sorted({w for w in folded.split() if w}, key=len, reverse=True)[:8]


# Word postings: every word of a customer's search text (a run of letters, three or more)
# with the customer's sort name, so that a word's customers are read in name order from
# one index range (``customer_words``), and every distinct word of an account
# (``search_words``), where a search finds the words that contain what was typed.
WORD = re.compile(r"[^\W\d_]+")


def index_words(text: str) -> set[str]:
    """The words of a folded search text that postings are kept for.

    A search word made only of letters (``is_word``) occurs in a text exactly
    when it occurs inside one of these: a run of letters holds every such match."""
    return {w for w in WORD.findall(text or "") if len(w) >= TRIGRAM}


def is_word(term: str) -> bool:
    """Whether a folded search word is found through the postings (letters only, three or more)."""
    return len(term) >= TRIGRAM and WORD.fullmatch(term) is not None


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """A half-open range of strings that start with ``prefix`` (index-friendly on every database)."""
    return prefix, prefix + "\U0010ffff"


# SQLite's full-text index over search_text: an external-content FTS5 table
# kept in step with the customers table by these triggers.
SQLITE_FTS_TABLE = (
    "CREATE VIRTUAL TABLE customers_fts USING fts5(search_text, content='customers', content_rowid='id', tokenize='trigram')"
)
SQLITE_FTS_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS customers_fts_insert AFTER INSERT ON customers BEGIN
         INSERT INTO customers_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS customers_fts_delete AFTER DELETE ON customers BEGIN
         INSERT INTO customers_fts(customers_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS customers_fts_update AFTER UPDATE OF search_text ON customers BEGIN
         INSERT INTO customers_fts(customers_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
         INSERT INTO customers_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
)
# FTS5 merges its index segments inside the writes by default (automerge): one
# save in a hundred then waited 20-60 ms at a million customers. The index is
# set to leave merging to the server's maintenance thread (app/database/maintenance.py) instead, which merges
# a few pages a second (FTS_MERGE_STEP); a merge then holds the write lock
# for milliseconds only, and writers without a server still merge when a level
# fills up (crisismerge).
SQLITE_FTS_NO_AUTOMERGE = "INSERT INTO customers_fts(customers_fts, rank) VALUES ('automerge', 0)"
SQLITE_FTS_DEFAULT_AUTOMERGE = "INSERT INTO customers_fts(customers_fts, rank) VALUES ('automerge', 4)"
FTS_MERGE_STEP = "INSERT INTO customers_fts(customers_fts, rank) VALUES ('merge', 64)"


def merge_fts_step(dbapi_connection: sqlite3.Connection) -> None:
    """SQLite: up to 64 pages of merging, where a level holds several segments; nothing otherwise."""
    dbapi_connection.execute(FTS_MERGE_STEP).close()


# PostgreSQL's GIN index first appends new entries to a pending list that every
# search reads in full until VACUUM (or a 4 MB list) moves them into the index:
# after 5,000 saves a one-match search took 5.5 ms instead of 0.7 ms. The
# server's maintenance thread moves them once a second.
PG_TRGM_INDEX = "ix_customers_search_text_trgm"


def clean_trgm_pending_list(dbapi_connection: psycopg.Connection[Any]) -> None:
    """PostgreSQL: move the trigram index's pending entries into the index proper."""
    dbapi_connection.execute(f"SELECT gin_clean_pending_list('{PG_TRGM_INDEX}'::regclass)").close()


SQLITE_FTS_DROP_TRIGGERS = tuple(
    f"DROP TRIGGER IF EXISTS {name}" for name in ("customers_fts_insert", "customers_fts_delete", "customers_fts_update")
)
