"""The acknowledged-writes verifier: a run's Log against the database. Every
acknowledged write must be found (its values, its own version, its history
entry), no refused write may have left a trace, and the account's own numbers
must match its rows. tests/platform/test_load_verifier.py stages each kind of
loss and requires it to be reported."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.platform.load.log import BOOL_FIELDS, HISTORY_PATH, TEXT_FIELDS, Log


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    lost: set[int] = field(default_factory=set)  # indexes of acknowledged writes not found as acknowledged
    refused_applied: int = 0
    checks: dict[str, Any] = field(default_factory=dict)

    def problem(self, text: str, *lost: int) -> None:
        if len(self.problems) < 100:
            self.problems.append(text)
        self.lost.update(lost)


def _state_value(state: dict[str, Any], name: str) -> Any:
    """A field of a customer's row, or of its copy in the trash (which keeps the phone numbers as a list)."""
    if name == "city":
        return (state.get("billing_address") or {}).get("city", "")
    if name == "phone_number" and name not in state:
        phones = state.get("phone_numbers") or []
        return phones[0].get("national_number", "") if phones else ""
    return state.get(name)


def read_database(database_url: str, account_id: int) -> dict[str, Any]:
    from sqlalchemy import create_engine, select

    from app.accounts.models import Account
    from app.customers.history import CustomerEvent
    from app.customers.models import BILLING, Address, Customer
    from app.customers.trash import TrashedCustomer

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            c = Customer.__table__.c
            names = ("first_name", "last_name", "company", "email", "phone_number", "note", "tax_number", *BOOL_FIELDS)
            rows = conn.execute(select(c.id, c.version, c.account_scoped_id, c.sort_name, c.search_text, c.city, *[c[n] for n in names]).where(c.account_id == account_id)).all()
            a = Address.__table__.c
            billing: dict[int, list[str]] = defaultdict(list)
            for customer_id, city in conn.execute(select(a.customer_id, a.city).where(a.account_id == account_id, a.kind == BILLING)):
                billing[customer_id].append(city)
            t = TrashedCustomer.__table__.c
            trash: dict[int, list[dict[str, Any]]] = defaultdict(list)
            trash_scoped: list[int] = []
            for customer_id, scoped, data in conn.execute(select(t.customer_id, t.account_scoped_id, t.data).where(t.account_id == account_id)):
                trash[customer_id].append(dict(data))
                trash_scoped.append(scoped)
            e = CustomerEvent.__table__.c
            events: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
            for customer_id, action, changes in conn.execute(select(e.customer_id, e.action, e.changes).where(e.account_id == account_id).order_by(e.id)):
                events[customer_id].append((action, dict(changes or {})))
            ac = Account.__table__.c
            account = conn.execute(select(ac.customer_seq, ac.customer_count, ac.favourite_count).where(ac.id == account_id)).one()
    finally:
        engine.dispose()
    customers: dict[int, dict[str, Any]] = {}
    for row in rows:
        state = {n: getattr(row, n) for n in names}
        cities = billing.get(row.id, [])
        state["billing_address"] = {"city": cities[0] if cities else None}
        state.update(version=row.version, account_scoped_id=row.account_scoped_id, _billing_count=len(cities),
                     _sort_name=row.sort_name, _search_text=row.search_text, _city=row.city)
        customers[row.id] = state
    return {"customers": customers, "trash": trash, "trash_scoped": trash_scoped, "events": events, "account": account}


def verify(log: Log, database_url: str, account_id: int) -> Verdict:
    """Every acknowledged write against the database; the account's numbers against its rows."""
    from app.customers import search

    db = read_database(database_url, account_id)
    customers, trash, events = db["customers"], db["trash"], db["events"]
    verdict = Verdict()
    writes = log.writes
    acked = [i for i, w in enumerate(writes) if w.status == "acked"]

    # Page creates whose id was not learnt: find them by their unique name.
    by_name: dict[tuple[str, str], int] = {}
    for customer_id, state in customers.items():
        by_name[(state["first_name"], state["last_name"])] = customer_id
    for customer_id, copies in trash.items():
        for data in copies:
            by_name.setdefault((data.get("first_name"), data.get("last_name")), customer_id)
    for i in acked:
        w = writes[i]
        if w.kind == "create" and w.customer_id is None:
            found = by_name.get(w.name) if w.name is not None else None
            if found is None:
                verdict.problem(f"page create {w.name} acknowledged but found nowhere", i)
            else:
                w.customer_id = found

    per_customer: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(writes):
        if w.customer_id is not None:
            per_customer[w.customer_id].append(i)

    # Values of refused writes must appear nowhere, unless a later attempt carried them again (Overwrite).
    carried = {(w.customer_id, n, v) for w in writes if w.status in ("acked", "unacked") for n, v in w.new.items()}
    refused = {(w.customer_id, n, v) for w in writes if w.status == "refused" for n, v in w.new.items()} - carried

    for customer_id, indexes in per_customer.items():
        mine = [writes[i] for i in indexes]
        acked_here = [i for i in indexes if writes[i].status == "acked"]
        if not acked_here:
            continue
        deleted = any(writes[i].kind == "delete" for i in acked_here)
        maybe_deleted = any(w.kind == "delete" and w.status == "unacked" for w in mine)
        live = customers.get(customer_id)
        copies = trash.get(customer_id, [])
        if deleted:
            deletes = [i for i in acked_here if writes[i].kind == "delete"]
            if len(deletes) > 1:
                verdict.problem(f"customer {customer_id}: deleted {len(deletes)} times with 200", *deletes)
            if live is not None:
                verdict.problem(f"customer {customer_id}: delete acknowledged, still in customers", *deletes)
            if len(copies) != 1:
                verdict.problem(f"customer {customer_id}: delete acknowledged, {len(copies)} trash copies", *deletes)
            if not any(action == "delete" for action, _ in events.get(customer_id, [])):
                verdict.problem(f"customer {customer_id}: delete acknowledged, no delete in its history", *deletes)
        if live is None and not copies:
            verdict.problem(f"customer {customer_id}: acknowledged writes, customer found nowhere", *acked_here)
            continue
        if live is None and not deleted and not maybe_deleted:
            verdict.problem(f"customer {customer_id}: in the trash, but no delete was sent", *acked_here)
        state = live if live is not None else copies[-1]
        version = int(state.get("version") or 0)

        # Each acknowledged change made a version of its own: none was written over another.
        versions: dict[int, list[int]] = defaultdict(list)
        for i in acked_here:
            # Only a write with a new value surely changed the row; one that set a flag to what it
            # already was answers the version it found.
            made = writes[i].version
            if writes[i].kind != "delete" and made is not None and writes[i].new:
                versions[made].append(i)
        for v, same in versions.items():
            if len(same) > 1:
                verdict.problem(f"customer {customer_id}: {len(same)} acknowledged writes all made version {v}", *same)
            if v > version:
                verdict.problem(f"customer {customer_id}: a write acknowledged version {v}, the database holds {version}", *same)

        # Every field holds its last acknowledged value, or a value a later unanswered write sent.
        last: dict[str, tuple[int, int]] = {}
        for i in acked_here:
            w = writes[i]
            if w.kind == "delete" or w.version is None:
                continue
            for name in w.fields:
                if name not in last or w.version > last[name][0]:
                    last[name] = (w.version, i)
        for name, (v, i) in last.items():
            expected = writes[i].fields[name]
            actual = _state_value(state, name)
            if actual == expected:
                continue
            # A later unanswered write, or an acknowledged page save (its version unknown), may have set it.
            explained = version > v and any(
                (w.status == "unacked" or (w.status == "acked" and w.kind == "update" and w.version is None))
                and name in w.fields and w.fields[name] == actual for w in mine
            )
            if not explained:
                verdict.problem(f"customer {customer_id}: {name} is {actual!r}, last acknowledged write (version {v}) set {expected!r}", i)

        # Every acknowledged change is in the history, value by value.
        history = events.get(customer_id, [])
        for i in acked_here:
            w = writes[i]
            if w.kind == "create":
                if not any(action == "create" for action, _ in history):
                    verdict.problem(f"customer {customer_id}: create acknowledged, not in its history", i)
            elif w.kind == "update":
                wanted = {HISTORY_PATH.get(n, n): v for n, v in w.new.items()}
                if wanted and not any(
                    action == "update" and all(n in changes and changes[n][1] == v for n, v in wanted.items()) for action, changes in history
                ):
                    verdict.problem(f"customer {customer_id}: update {wanted} acknowledged, not in its history", i)

    # Refused writes left no trace: not in the history, not in the rows.
    applied: set[tuple[int | None, str, Any]] = set()
    for customer_id, history in events.items():
        for _action, changes in history:
            for path, change in changes.items():
                name = "city" if path == "billing_address.city" else path
                key = (customer_id, name, change[1] if isinstance(change, list) and len(change) > 1 else None)
                if key in refused and key not in applied:
                    applied.add(key)
                    verdict.problem(f"customer {customer_id}: a refused write's {name}={key[2]!r} is in the history")
    for customer_id, state in [*customers.items(), *((cid, c) for cid, copies in trash.items() for c in copies)]:
        for name in TEXT_FIELDS:
            key = (customer_id, name, _state_value(state, name))
            if key in refused and key not in applied:
                applied.add(key)
                verdict.problem(f"customer {customer_id}: holds a refused write's {name}={key[2]!r}")
    verdict.refused_applied = len(applied)

    # The account's own numbers.
    seq, count, favourites = db["account"]
    scoped = [s["account_scoped_id"] for s in customers.values()] + db["trash_scoped"]
    checks = verdict.checks
    checks["customers"] = len(customers)
    checks["trashed"] = len(db["trash_scoped"])
    checks["customer_count counter"] = "ok" if count == len(customers) else f"WRONG: {count} kept, {len(customers)} rows"
    real_favourites = sum(1 for s in customers.values() if s["is_favourite"])
    checks["favourite_count counter"] = "ok" if favourites == real_favourites else f"WRONG: {favourites} kept, {real_favourites} rows"
    checks["account_scoped_id unique and gap-free"] = (
        "ok" if sorted(scoped) == list(range(1, seq + 1)) else f"WRONG: {len(scoped)} numbers, {len(set(scoped))} distinct, last handed out {seq}"
    )
    bad_billing = [cid for cid, s in customers.items() if s["_billing_count"] != 1]
    checks["one billing address each"] = "ok" if not bad_billing else f"WRONG: {len(bad_billing)} customers"
    stale = [
        cid for cid, s in customers.items()
        if s["_sort_name"] != search.sort_name(s["first_name"], s["last_name"], s["company"])
        or s["_city"] != (s["billing_address"]["city"] or "")
        or s["_search_text"] != search.search_text(s["first_name"], s["last_name"], s["company"], s["email"], s["phone_number"], s["_city"])
    ]
    checks["search text and sort name current"] = "ok" if not stale else f"WRONG: {len(stale)} customers"
    for name, value in checks.items():
        if isinstance(value, str) and value.startswith("WRONG"):
            verdict.problem(f"{name}: {value}")
    return verdict

