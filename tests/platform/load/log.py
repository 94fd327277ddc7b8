"""What a load run records: every write attempt with what it sent and how it was
answered, the count of every answer, and the answers each operation may get."""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TEXT_FIELDS = ("first_name", "last_name", "company", "email", "phone_number", "note", "tax_number", "city")
BOOL_FIELDS = ("is_vip", "is_b2b", "is_favourite")
INLINE_FIELDS = ("first_name", "last_name", "company", "email", "phone_number", "is_favourite", "is_vip", "is_b2b")
INLINE_TEXT = ("first_name", "last_name", "company", "email", "phone_number")
# history.diff paths of the fields above
HISTORY_PATH = {"city": "billing_address.city", "phone_number": "phone_numbers.0.national_number"}
# The pages' names of fields the API names otherwise: the phone is the first entry of the phone-numbers list.
PAGE_NAMES = {"phone_number": "phone_numbers-0-national_number"}


def page_name(name: str) -> str:
    return PAGE_NAMES.get(name, name)

# The statuses each operation may be answered with; any other is an unexpected error.
EXPECTED: dict[str, tuple[int, ...]] = {
    "api.list": (200,),
    "api.search": (200,),
    "api.get": (200, 404),
    "api.create": (201,),
    "api.update": (200, 404),
    "api.update_if_match": (200, 404, 412),
    "api.delete": (200, 404),
    "api.delete_if_match": (200, 404, 412),
    "page.login": (303,),
    "page.login_form": (200,),
    "page.list": (200,),
    "page.row_edit": (200, 404),
    "page.row_save": (200, 404),
    "page.overwrite": (200, 404),
    "page.create": (303,),
    "page.created_list": (200,),
    "page.delete": (200, 404),
}


def status_ok(operation: str, status: int) -> bool:
    return status in EXPECTED.get(operation, ())


_sequence = itertools.count(1)


def fresh(name: str) -> str:
    """A value for a field that no other write of the run uses."""
    n = next(_sequence)
    return {
        "first_name": f"Fn{n}",
        "last_name": f"Ln{n}",
        "company": f"Co{n}",
        "email": f"e{n}@example.com",
        "phone_number": f"030 {n:07d}",
        "note": f"note {n}",
        "tax_number": f"DE{n:09d}",
        "city": f"City{n}",
    }[name]


@dataclass
class Write:
    kind: str  # create | update | delete
    via: str  # api | page
    customer_id: int | None
    fields: dict[str, Any] = field(default_factory=dict)  # every field this write set
    new: dict[str, str] = field(default_factory=dict)  # the unique values among them
    status: str = "acked"  # acked | unacked | refused
    version: int | None = None  # the version it made (acked)
    name: tuple[str, str] | None = None  # page create whose id was not learnt: its unique name


class Log:
    """Everything the clients did, shared by all of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: list[Write] = []
        self.statuses: Counter[tuple[str, str]] = Counter()  # (operation, status or error)
        self.unexpected: list[str] = []
        self.requests = 0
        self.dropped = 0
        self.conflict_views = 0
        self.ids: list[int] = []  # customers the clients work on

    def write(self, w: Write) -> None:
        with self.lock:
            self.writes.append(w)
            if w.status == "acked" and w.kind == "create" and w.customer_id is not None:
                self.ids.append(w.customer_id)

    def count(self, operation: str, status: str, expected: bool, detail: str = "") -> None:
        with self.lock:
            self.statuses[(operation, status)] += 1
            if not expected and len(self.unexpected) < 200:
                self.unexpected.append(f"{operation} -> {status} {detail}".strip())

    def pick(self, rng: random.Random) -> int | None:
        with self.lock:
            if not self.ids:
                return None
            if rng.random() < 0.7:  # most traffic on recent customers: real contention
                return rng.choice(self.ids[-40:])
            return rng.choice(self.ids)

    def forget(self, customer_id: int) -> None:
        with self.lock:
            if customer_id in self.ids:
                self.ids.remove(customer_id)
