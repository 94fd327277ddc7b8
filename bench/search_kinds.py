"""Search as people type it, against the plain list page, per kind of term.

Terms are drawn from the seeded data at random with a fixed seed, at least ten
of each kind: last names, first + last names, company words, cities,
three-letter fragments, email and phone fragments, one and two letters, and
terms that match nothing. Each search is one list page as the back office
reads it (``service.page``: the count and the first page) in every sort order
asked for; each is run a few times and its median kept. A kind's median term
and its worst term are reported as ratios to the plain list page in the same
order, measured in the same run (so that they hold on a busy machine).

    make bench-search                      # on both databases `make bench` seeded
    python -m bench.search_kinds --database-url sqlite:////tmp/clientele.db --sorts name,city,created
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import func, select

LETTERS = re.compile(r"[^\W\d_]+")  # runs of letters (as search.WORD; here too for measuring older code)
TERMS_PER_KIND = 10
SEED = 14
KINDS = ("last name", "first + last", "company word", "city", "3-letter fragment", "email fragment", "phone fragment", "1-2 letters", "no match")


def draw_terms(session, account_id: int, per_kind: int, seed: int) -> dict[str, list[str]]:
    from app.customers import search
    from app.customers.models import Customer

    c = Customer.__table__.c
    rng = random.Random(seed)
    low, high = session.execute(select(func.min(c.id), func.max(c.id)).where(c.account_id == account_id)).one()
    rows: list = []
    while len(rows) < per_kind * 4:
        row = session.execute(
            select(c.first_name, c.last_name, c.company, c.email, c.phone_number, c.city, c.search_text)
            .where(c.account_id == account_id, c.id >= rng.randint(low, high))
            .order_by(c.id)
            .limit(1)
        ).first()
        if row is not None:
            rows.append(row)
    people = [r for r in rows if r.last_name and r.first_name][:per_kind]
    companies = [r for r in rows if any(len(w) >= 2 for w in LETTERS.findall(r.company))]
    fragments = []
    for row in rows[:per_kind]:
        word = rng.choice([w for w in LETTERS.findall(row.search_text) if len(w) >= 3])
        start = rng.randrange(len(word) - 2)
        fragments.append(word[start : start + 3])
    emails = []
    for row in rows[:per_kind]:
        start = rng.randrange(max(1, len(row.email) - 6))
        emails.append(row.email[start : start + 6])
    phones = []
    for row in rows[:per_kind]:
        digits = re.sub(r"\D", "", row.phone_number)
        size = rng.randint(4, 6)
        start = rng.randrange(max(1, len(digits) - size))
        phones.append(digits[start : start + size])
    short = [search.fold(r.last_name)[: rng.randint(1, 2)] for r in rows[:per_kind]]
    none = ["".join(rng.choice("qxzjvy") for _ in range(5)) for _ in range(per_kind)]
    return {
        "last name": [r.last_name for r in people],
        "first + last": [f"{r.first_name} {r.last_name}" for r in people],
        # A word of the company's name as a person types it: letters, not "&" or the dots of "e.K.".
        "company word": [rng.choice([w for w in LETTERS.findall(r.company) if len(w) >= 2]) for r in companies[:per_kind]],
        "city": [r.city for r in rows[:per_kind]],
        "3-letter fragment": fragments,
        "email fragment": emails,
        "phone fragment": phones,
        "1-2 letters": short,
        "no match": none,
    }


def drawn_terms(database_url: str, account: str, per_kind: int = TERMS_PER_KIND, seed: int = SEED) -> tuple[int, dict[str, list[str]]]:
    """The account's id and its terms of every kind (``draw_terms``), read from the database at ``database_url``:
    what `make bench` requests over HTTP and what this module times in process."""
    from app.accounts.models import Account
    from app.database.engine import engine_for, session_scope

    engine = engine_for(database_url)
    try:
        with session_scope(engine) as session:
            account_id = session.scalar(select(Account.id).where(Account.name == account))
            if account_id is None:
                raise SystemExit(f"no account {account!r} in {database_url}")
            return account_id, draw_terms(session, account_id, per_kind, seed)
    finally:
        engine.dispose()


def timed(call: Callable[[], object], repeat: int, slow_ms: float = 1_000.0) -> float:
    """The fastest of ``repeat`` runs in milliseconds (one run when the first is slower than ``slow_ms``):
    on a shared machine, what the other processes left alone."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
        if times[0] > slow_ms:
            break
    return min(times)


def measure(database_url: str, account: str, per_kind: int, seed: int, sorts: list[str], repeat: int) -> list[dict]:
    from app.customers import service
    from app.database.engine import engine_for, session_scope

    engine = engine_for(database_url)
    account_id, terms = drawn_terms(database_url, account, per_kind, seed)
    results = []
    with session_scope(engine) as session:
        for sort in sorts:
            def page(term: str, sort: str = sort) -> object:
                items = service.page(session, account_id, service.Query(term, sort=sort))
                session.rollback()
                return items

            for _ in range(3):
                page("")  # warm
            reference = timed(lambda: page(""), repeat * 5)
            results.append({"sort": sort, "kind": "list page", "median": reference, "worst": reference, "worst_term": "", "reference": reference})
            for kind in KINDS:
                times = {term: timed(partial(page, term), repeat) for term in terms[kind]}
                worst = max(times, key=times.__getitem__)
                results.append(
                    {"sort": sort, "kind": kind, "median": statistics.median(times.values()), "worst": times[worst],
                     "worst_term": worst, "reference": reference}
                )
                print(f"  {sort:8} {kind:18} median {results[-1]['median']:8.2f} ms  worst {times[worst]:8.2f} ms ({worst!r})", flush=True)
    engine.dispose()
    return results


def table(results: list[dict]) -> str:
    lines = ["| sort | kind | median ms | median / list | worst ms | worst / list | worst term |", "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(
            f"| {r['sort']} | {r['kind']} | {r['median']:.2f} | {r['median'] / r['reference']:.2f}× | {r['worst']:.2f} | "
            f"{r['worst'] / r['reference']:.2f}× | {'`' + r['worst_term'] + '`' if r['worst_term'] else ''} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: the databases `make bench` seeded (see --db)")
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"), help="with no --database-url; both by default")
    parser.add_argument("--customers", type=int, default=None, help="which of `make bench`'s databases (by size)")
    parser.add_argument("--account", default="Bench")
    parser.add_argument("--terms", type=int, default=TERMS_PER_KIND, help="terms a kind")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sorts", default="name,company,email,phone,city,created")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import app

    if args.database_url:
        urls = [args.database_url]
    else:
        from bench.common import DEFAULT_CUSTOMERS, Target

        urls = [Target(db, args.customers or DEFAULT_CUSTOMERS).database_url for db in args.db or ("sqlite", "postgresql")]
    for url in urls:
        print(f"{url} (code measured: {app.__file__})", flush=True)
        results = measure(url, args.account, args.terms, args.seed, args.sorts.split(","), args.repeat)
        print(table(results), flush=True)


if __name__ == "__main__":
    main()
