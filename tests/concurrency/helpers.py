"""Small tools of the concurrency tests: start threads together, read forms, read the database."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any, TypeVar

T = TypeVar("T")

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))



def together(count: int, work: Callable[[int, threading.Barrier], T], timeout: float = 60) -> list[T]:
    """Run ``work(index, barrier)`` in ``count`` threads; each calls ``barrier.wait()`` right
    before the request that should race. Returns the results in index order; re-raises
    the first exception."""
    barrier = threading.Barrier(count, timeout=timeout)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, index, barrier) for index in range(count)]
        return [future.result(timeout=timeout) for future in futures]


def etag_version(etag: str) -> int:
    """The version in an ETag ``"<id>-<version>"``."""
    return int(etag.strip('"').rsplit("-", 1)[1])


class Form:
    def __init__(self, action: str, method: str, classes: str) -> None:
        self.action = action
        self.method = method
        self.classes = classes
        self.fields: list[tuple[str, str]] = []

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.fields if k == name), default)

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` by one (a checkbox: "y" ticks it, "" unticks it)."""
        self.fields = [(k, v) for k, v in self.fields if k != name]
        if value != "":
            self.fields.append((name, value))

    def data(self) -> dict[str, list[str]]:
        """The fields as httpx's ``data=`` takes them (repeated names kept)."""
        out: dict[str, list[str]] = {}
        for name, value in self.fields:
            out.setdefault(name, []).append(value)
        return out


class _FormParser(HTMLParser):
    """Every form of a page with what a browser would submit (no buttons)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._option_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower(), a.get("class", ""))
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields.append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            value = self._select_value if self._select_value is not None else (self._select_first or "")
            self._form.fields.append((self._select, value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            self._form.fields.append((self._textarea, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def form_to(html: str, action: str) -> Form:
    """The form of a page that posts to ``action``."""
    found = [f for f in forms(html) if f.action == action and f.method == "post"]
    assert found, f"no form posting to {action} in:\n{html[:2000]}"
    return found[0]


# -- the database, read directly ----------------------------------------------------


def stored(account_id: int, customer_id: int) -> dict[str, Any] | None:
    """A customer's fields as stored (snapshot form, plus ``version``), or None."""
    from app.customers import history, service
    from app.db import session_scope

    with session_scope() as session:
        customer = service.get(session, account_id, customer_id)
        if customer is None:
            return None
        data = history.snapshot(customer)
        data["version"] = customer.version
        data["account_scoped_id"] = customer.account_scoped_id
        return data


def trashed(account_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The trash entries of a customer (snapshots taken when it was deleted)."""
    from sqlalchemy import select

    from app.customers.trash import TrashedCustomer
    from app.db import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(TrashedCustomer).where(TrashedCustomer.account_id == account_id, TrashedCustomer.customer_id == customer_id)
        )
        return [dict(row.data) for row in rows]


def counters_agree(account_id: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((kept customer_count, real count), (kept favourite_count, real count)) of an account."""
    from sqlalchemy import func, select

    from app.accounts.models import Account
    from app.customers.models import Customer
    from app.db import session_scope

    with session_scope() as session:
        account = session.get(Account, account_id)
        real = session.scalar(select(func.count()).select_from(Customer).where(Customer.account_id == account_id))
        favourites = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.account_id == account_id, Customer.is_favourite.is_(True))
        )
        return (account.customer_count, real), (account.favourite_count, favourites)


def update_events(account_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The ``changes`` of every update event of a customer, oldest first."""
    from sqlalchemy import select

    from app.customers.history import CustomerEvent
    from app.db import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(CustomerEvent)
            .where(CustomerEvent.account_id == account_id, CustomerEvent.customer_id == customer_id, CustomerEvent.action == "update")
            .order_by(CustomerEvent.id)
        )
        return [dict(row.changes) for row in rows]

