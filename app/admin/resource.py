"""A declarative description of a resource: what the generic list, edit, print
and delete views show, and the store they read and write through.

A new resource needs a description, a form and a store; no templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy.orm import Session
from wtforms import Form

from app.customers.history import Who
from app.paging import Page


class Invalid(Exception):
    """A store refuses a change that the form could not check (a taken email, say)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Conflict(Exception):
    """Someone else changed the item since the version the user edited, and the same fields as the user.

    ``fields`` holds each field both changed, ``{path: [yours, saved]}`` (paths and values as a
    history holds them, see app/admin/changes.py); ``formdata`` the user's input with the others'
    changes to the other fields merged in, and ``theirs`` the same with the saved values of ``fields``
    (both ready to bind to the form of ``current``)."""

    def __init__(
        self, current: Any, who: str = "", when: Any = None, fields: dict[str, list[Any]] | None = None, formdata: Any = None, theirs: Any = None
    ) -> None:
        super().__init__("changed meanwhile")
        self.current = current
        self.who = who
        self.when = when
        self.fields = fields or {}
        self.formdata = formdata
        self.theirs = theirs


@dataclass(frozen=True)
class Saved:
    """What a store's ``update`` may answer instead of the item: the item, and the changes others made
    since the user's version that were kept (``{path: [before, after]}``) and who made them."""

    item: Any
    kept: dict[str, list[Any]] = field(default_factory=dict)
    who: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """One column of the list and of the printed list."""

    name: str
    label: str
    sort: str | None = None  # the store's sort key; None: not sortable
    kind: str = "text"  # text | title | email | phone | toggle | badges | datetime
    badges: tuple[tuple[str, str], ...] = ()  # for kind="badges": (attribute, label)
    printed: bool = True


@dataclass(frozen=True)
class Done:
    """What a bulk action changed; ``undo``, if set, is a token that the store's ``undo`` takes to put it back."""

    changed: int
    undo: str | None = None


@dataclass(frozen=True)
class ExportField:
    """One column of an export: its heading and how to read it from an item. The value's type
    decides the cell's: str is text, int a whole number, bool yes/no, date and datetime dates
    (aware date-times are shown in the account's time zone)."""

    label: str
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Filter:
    """A yes/no filter of the list, shown as a checkbox next to the search."""

    name: str
    label: str


@dataclass(frozen=True)
class Section:
    """A group of fields on the full edit page; a field may be a nested form or a list of them."""

    title: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ListQuery:
    search: str = ""
    filters: frozenset[str] = frozenset()
    sort: str = ""
    descending: bool = False


@dataclass(frozen=True)
class Actor:
    """Who acts in the back office."""

    user_id: int
    account_id: int
    account_name: str
    timezone: str
    role: str
    email: str
    # The signed-in session's data, for a store that changes what the session may do (app/web/store.py's ask_new_id).
    session: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def who(self) -> Who:
        return Who("user", self.user_id, self.email)


class Store(Protocol):
    """What a resource's generic views need from its persistence."""

    def listing(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page: ...
    def stream(self, session: Session, actor: Actor, query: ListQuery) -> Iterator[Any]: ...
    def get(self, session: Session, actor: Actor, item_id: int) -> Any | None: ...
    def get_for_update(self, session: Session, actor: Actor, item_id: int) -> Any | None: ...
    def bind(self, formdata: Any, actor: Actor, item: Any | None = None, replace: Iterable[str] = ()) -> Form: ...
    def create(self, session: Session, actor: Actor, form: Form) -> Any: ...
    # Based on ``expected_version``: a store may merge the changes made since (answering ``Saved``) or refuse (``Conflict``).
    def update(self, session: Session, actor: Actor, item: Any, form: Form, expected_version: int | None = None) -> Any: ...
    def delete(self, session: Session, actor: Actor, item_id: int) -> bool: ...
    def toggle(self, session: Session, actor: Actor, item_id: int, name: str, value: bool) -> Any | None: ...


class TrashStore(Protocol):
    """What a store with a trash (``Resource.has_trash``) offers besides ``Store``."""

    def trash_page(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page: ...
    def trash_count(self, session: Session, actor: Actor) -> int: ...
    def restore(self, session: Session, actor: Actor, item_id: int) -> Any | None: ...
    def restore_many(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int: ...
    def undo(self, session: Session, actor: Actor, token: str) -> int | None: ...


class HistoryStore(Protocol):
    """What a store with a history (``Resource.has_history``) offers besides ``Store``."""

    def history(self, session: Session, actor: Actor, item_id: int) -> list[Any]: ...


class BulkStore(Protocol):
    """What a store with bulk actions (``Resource.bulk_actions``) offers besides ``Store``."""

    def count_selection(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int: ...
    def bulk(self, session: Session, actor: Actor, action: str, ids: list[int] | None, query: ListQuery) -> Done: ...


@dataclass(frozen=True)
class Resource:
    name: str  # URL segment
    singular: str
    plural: str
    columns: tuple[Column, ...]
    search_label: str
    store: Store
    describe: Callable[[Any], str]  # how one item is named in messages
    sections: tuple[Section, ...]
    # The fields the list row's form edits, by their form name: a field of the form ("email"), or one inside
    # a list of sub-forms by the name WTForms gives it ("phone_numbers-0-national_number": the first entry's).
    inline_fields: tuple[str, ...] = ()
    inline_labels: dict[str, str] = field(default_factory=dict, hash=False)  # a row field's label, where not its form label
    filters: tuple[Filter, ...] = ()
    default_sort: str = ""
    roles: tuple[str, ...] = ("admin", "staff")
    per_page: int = 30
    empty_hint: str = ""
    # What an item's page shows besides its form's fields (a number, when it was created).
    facts: tuple[Column, ...] = ()
    # Why the actor may not delete this item ("" if they may): no delete control is offered then,
    # and the confirmation refuses (the store refuses the delete itself too).
    cannot_delete: Callable[[Actor, Any], str] | None = None
    # Optional features; the store then offers the matching methods
    # (bulk; trash_page/restore/restore_many/undo; history; export).
    bulk_actions: tuple[tuple[str, str], ...] = ()
    has_trash: bool = False
    trash_days: int = 0  # how long a deleted item stays restorable
    has_history: bool = False
    versioned: bool = False

    def inline_field(self, form: Form, name: str) -> Any:
        """The bound field of ``form`` that the row field ``name`` is; a list without the entry named gets an empty one."""
        return form_field(form, name)

    @property
    def trash(self) -> TrashStore:
        """The store as a trash; only for a resource that ``has_trash``."""
        return cast("TrashStore", self.store)

    @property
    def history(self) -> HistoryStore:
        """The store as a history; only for a resource that ``has_history``."""
        return cast("HistoryStore", self.store)

    @property
    def bulk(self) -> BulkStore:
        """The store with bulk actions; only for a resource that has ``bulk_actions``."""
        return cast("BulkStore", self.store)

    @property
    def toggles(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "toggle")

    @property
    def sorts(self) -> tuple[str, ...]:
        return tuple(c.sort for c in self.columns if c.sort)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def form_field(form: Form, name: str) -> Any:
    """The field of ``form`` that WTForms names ``name``: ``email``, ``billing_address-city``, or
    ``phone_numbers-0-national_number`` (an entry the list lacks is added empty, as a form to fill in)."""
    parts = name.split("-")
    found: Any = form[parts[0]]
    for part in parts[1:]:
        if found.type == "FieldList":
            index = int(part)
            while len(found.entries) <= index:
                found.append_entry()
            found = found.entries[index]
        else:
            found = found.form[part]
    return found


def named_by(key: str, names: Iterable[str]) -> bool:
    """Whether the form key ``key`` is one of ``names`` or lies inside one (``shipping_address-0-city`` in ``shipping_address``)."""
    return any(key == name or key.startswith(f"{name}-") for name in names)
