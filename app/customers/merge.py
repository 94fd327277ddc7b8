"""A three-way merge of a form's input with what others saved since the version it is based on.

The history holds, for every version of a customer after the first, the fields
that changed and their values before and after. Going back from the stored
customer through the events since the user's version gives the values the
user's form started from (the base). A field is the user's change when the
posted value differs from the base; the others' change when the stored value
does. Fields only the others changed keep their values, fields only the user
changed take the user's; a field both changed to different values is a
conflict.

Shipping addresses are matched by their ids: the addresses of the base are the
first ones stored now (the form adds at the end), unless someone removed one
meanwhile; then the list as a whole is the user's change or the others'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.customers import history
from app.customers.models import ADDRESS_FIELDS, PHONE_FIELDS, Customer

MAX_EVENTS = 500  # a form older than this many changes is not merged: every difference is the user's to decide


@dataclass
class Merge:
    data: dict[str, Any]  # what to save: the user's changes over what is stored (the user's value where both changed)
    theirs: dict[str, Any]  # the same, with the stored value where both changed
    kept: dict[str, list[Any]] = field(default_factory=dict)  # the others' changes kept: {path: [before, after]}
    conflicts: dict[str, list[Any]] = field(default_factory=dict)  # both changed: {path: [yours, stored]}
    who: tuple[str, ...] = ()  # who changed the customer since, oldest first


def base_of(session: Session, customer: Customer, version: int) -> tuple[dict[str, Any], bool, tuple[str, ...]] | None:
    """The customer's fields at ``version`` (flat, as ``history.diff`` names them), whether a shipping
    address was removed since, and who changed it since; None if the history cannot tell."""
    count = customer.version - version
    if not 0 < count <= MAX_EVENTS:
        return None
    base = history.flat(history.snapshot(customer))
    removed = False
    who: list[str] = []
    seen = 0
    for event in history.events(session, customer.account_id, customer.id, limit=MAX_EVENTS * 2):
        if event.action == "create":
            return None
        if event.action == "restore":  # one version, no field changed (it comes back as it was deleted)
            seen += 1
            if seen == count:
                return base, removed, tuple(who)
            continue
        if event.action != "update":
            continue
        changes = event.changes or {}
        for path, pair in changes.items():
            base[path] = pair[0]
        count_change = changes.get("shipping_address")
        if count_change and (count_change[1] or 0) < (count_change[0] or 0):
            removed = True
        if event.actor_label not in who:
            who.insert(0, event.actor_label)
        seen += 1
        if seen == count:
            return base, removed, tuple(who)
    return None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _address(entry: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (entry or {}).get(name) for name in ADDRESS_FIELDS}


def merge(session: Session, customer: Customer, data: dict[str, Any], version: int) -> Merge:
    """The user's ``data`` (a whole form's, based on ``version``) merged with the stored ``customer``."""
    stored = history.snapshot(customer)
    found = base_of(session, customer, version)
    mine = dict(data)
    theirs = dict(data)
    result = Merge(mine, theirs)
    if found is None:  # no base known: every difference is a conflict
        result.conflicts = {path: [yours, now] for path, (now, yours) in history.diff(stored, _snapshot_of(data)).items()}
        _theirs_where_conflicting(result, customer)
        return result
    base, removed, who = found
    result.who = who
    same = history.same
    for name in history.SCALARS:
        if name not in data:
            continue
        _three_way(result, name, base.get(name), _plain(data[name]), stored.get(name), getattr(customer, name), name)
    billing = customer.billing_address
    if "billing_address" in data:
        posted = dict(data["billing_address"] or {})
        mine["billing_address"], theirs["billing_address"] = posted, dict(posted)
        for name in ADDRESS_FIELDS:
            path = f"billing_address.{name}"
            _three_way(result, path, base.get(path), posted.get(name), stored["billing_address"].get(name), getattr(billing, name) if billing else None, name, "billing_address")
    if "phone_numbers" in data:
        _merge_phones(result, base, data, customer)
    if "shipping_address" not in data:
        return result
    posted_list = [dict(entry) for entry in data["shipping_address"] or []]
    base_count = int(base.get("shipping_address") or 0)
    base_entries = [{name: base.get(f"shipping_address.{i}.{name}") for name in ADDRESS_FIELDS} for i in range(base_count)]
    now = customer.shipping_addresses
    if removed:
        # Which stored address was which at the base is unknown: the list is the user's change if
        # the user changed it, else the others'.
        posted_entries = [_address(entry) for entry in posted_list]
        if _same_list(posted_entries, base_entries):
            kept_list = [{"id": a.id, **_stored(a)} for a in now]
            mine["shipping_address"] = theirs["shipping_address"] = kept_list
            result.kept.update(_list_diff(base_entries, [_stored(a) for a in now]))
        else:
            result.conflicts.update({p: [b, a] for p, (a, b) in _list_diff([_stored(a) for a in now], posted_entries).items()})
            theirs["shipping_address"] = [{"id": a.id, **_stored(a)} for a in now]
        return result
    by_id = {entry.get("id"): entry for entry in posted_list if entry.get("id")}
    merged: list[dict[str, Any]] = []
    merged_theirs: list[dict[str, Any]] = []
    known = {a.id for a in now}
    for index, address in enumerate(now):
        stored_entry = {"id": address.id, **_stored(address)}
        if index >= base_count:  # added meanwhile
            merged.append(stored_entry)
            merged_theirs.append(stored_entry)
            result.kept["shipping_address"] = [base_count, len(now)]
            continue
        was = base_entries[index]
        entry = by_id.get(address.id)
        changed_meanwhile = not all(same(was[n], stored_entry[n]) for n in ADDRESS_FIELDS)
        if entry is None:  # removed by the user
            if changed_meanwhile:
                for n in ADDRESS_FIELDS:
                    if not same(was[n], stored_entry[n]):
                        result.conflicts[f"shipping_address.{index}.{n}"] = [None, stored_entry[n]]
                merged_theirs.append(stored_entry)
            continue
        out: dict[str, Any] = {"id": address.id}
        out_theirs: dict[str, Any] = {"id": address.id}
        for n in ADDRESS_FIELDS:
            path = f"shipping_address.{index}.{n}"
            yours, b, s = entry.get(n), was[n], stored_entry[n]
            if not same(yours, b) and not same(s, b) and not same(yours, s):
                result.conflicts[path] = [yours, s]
                out[n], out_theirs[n] = yours, s
            elif not same(yours, b):
                out[n] = out_theirs[n] = yours
            else:
                out[n] = out_theirs[n] = s
                if not same(s, b):
                    result.kept[path] = [b, s]
        merged.append(out)
        merged_theirs.append(out_theirs)
    for entry in posted_list:
        if entry.get("id") in known:
            continue
        new = {**entry, "id": None}  # added by the user (or one removed meanwhile: added again)
        merged.append(new)
        merged_theirs.append(dict(new))
    mine["shipping_address"], theirs["shipping_address"] = merged, merged_theirs
    return result


def _merge_phones(result: Merge, base: dict[str, Any], data: dict[str, Any], customer: Customer) -> None:
    """The phone list as one value: the user's if the user changed it, else the stored one; both changed
    it differently: a conflict on each field where they differ."""
    posted = [_phone(entry) for entry in data["phone_numbers"] or []]
    was = [{n: base.get(f"phone_numbers.{i}.{n}") for n in PHONE_FIELDS} for i in range(int(base.get("phone_numbers") or 0))]
    stored = [_phone(p) for p in customer.phones]
    if _same_list(posted, was, PHONE_FIELDS):
        if not _same_list(stored, was, PHONE_FIELDS):
            result.data["phone_numbers"] = stored
            result.theirs["phone_numbers"] = [dict(p) for p in stored]
            result.kept.update(history.diff({"phone_numbers": was}, {"phone_numbers": stored}))
    elif not _same_list(stored, was, PHONE_FIELDS) and not _same_list(posted, stored, PHONE_FIELDS):
        result.conflicts.update({p: [b, a] for p, (a, b) in history.diff({"phone_numbers": stored}, {"phone_numbers": posted}).items()})
        result.theirs["phone_numbers"] = stored


def _phone(entry: Any) -> dict[str, Any]:
    """A phone number (stored, or a form's entry) as the history keeps it."""
    if isinstance(entry, dict):
        return {name: entry.get(name) for name in PHONE_FIELDS}
    return {name: getattr(entry, name) for name in PHONE_FIELDS}


def _three_way(result: Merge, path: str, base: Any, yours: Any, stored: Any, stored_value: Any, name: str, within: str | None = None) -> None:
    """Merge one field: ``yours`` and ``stored`` as the history keeps values, ``stored_value`` as the field has it."""
    same = history.same
    mine = result.data[within] if within else result.data
    theirs = result.theirs[within] if within else result.theirs
    if same(yours, base):
        if not same(stored, base):
            mine[name] = theirs[name] = stored_value
            result.kept[path] = [base, stored]
    elif not same(stored, base) and not same(yours, stored):
        result.conflicts[path] = [yours, stored]
        theirs[name] = stored_value


def _theirs_where_conflicting(result: Merge, customer: Customer) -> None:
    for name in history.SCALARS:
        if name in result.conflicts:
            result.theirs[name] = getattr(customer, name)
    if any(p.startswith("billing_address.") for p in result.conflicts):
        billing = customer.billing_address
        result.theirs["billing_address"] = {"id": billing.id if billing else None, **_stored(billing)}
    if any(p.startswith("shipping_address") for p in result.conflicts):
        result.theirs["shipping_address"] = [{"id": a.id, **_stored(a)} for a in customer.shipping_addresses]
    if any(p.startswith("phone_numbers") for p in result.conflicts):
        result.theirs["phone_numbers"] = [_phone(p) for p in customer.phones]


def _stored(address: Any) -> dict[str, Any]:
    return {name: getattr(address, name) if address is not None else None for name in ADDRESS_FIELDS}


def _snapshot_of(data: dict[str, Any]) -> dict[str, Any]:
    """Form data in the shape of ``history.snapshot``."""
    out = {name: _plain(data[name]) for name in history.SCALARS if name in data}
    out["billing_address"] = _address(data.get("billing_address")) if data.get("billing_address") is not None else {}
    out["shipping_address"] = [_address(entry) for entry in data.get("shipping_address") or []]
    if "phone_numbers" in data:
        out["phone_numbers"] = [_phone(entry) for entry in data["phone_numbers"] or []]
    return out


def _same_list(a: list[dict[str, Any]], b: list[dict[str, Any]], fields: tuple[str, ...] = ADDRESS_FIELDS) -> bool:
    return len(a) == len(b) and all(history.same(x[n], y[n]) for x, y in zip(a, b, strict=True) for n in fields)


def _list_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return history.diff({"shipping_address": before}, {"shipping_address": after})
