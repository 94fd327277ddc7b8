"""A declarative description of a resource: what the generic list, edit, print
and delete views show, and the store they read and write through.

A new resource needs a description, a form and a store; no templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from sqlalchemy.orm import Session
from wtforms import Form
from wtforms.form import BaseForm

from app.shared.audit import Actor
from app.shared.paging import Page

# The type of a resource's items (a model, say) and of the form that edits one.
ItemT = TypeVar("ItemT")
FormT = TypeVar("FormT", bound=Form)
ItemT_co = TypeVar("ItemT_co", covariant=True)


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
class Saved(Generic[ItemT]):
    """What a store's ``update`` may answer instead of the item: the item, and the changes others made
    since the user's version that were kept (``{path: [before, after]}``) and who made them."""

    item: ItemT
    kept: dict[str, list[Any]] = field(default_factory=dict)
    who: tuple[str, ...] = ()


# How a column shows its value: as text, as the link to the item's page ("title"), as a mailto: or tel:
# link, as a button that flips it ("toggle"), as the labels of the true ones of ``badges``, as a time or date.
ColumnKind = Literal["text", "title", "email", "phone", "toggle", "badges", "datetime", "date"]


@dataclass(frozen=True)
class Column:
    """One column of the list and of the printed list."""

    name: str
    label: str
    sort: str | None = None  # the store's sort key; None: not sortable
    kind: ColumnKind = "text"
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


class Store(Protocol[ItemT, FormT]):
    """What a resource's generic views need from its persistence: its items are ``ItemT``s, edited in ``FormT``s."""

    def listing(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page: ...
    # The list's rows, for the printed list and the export: records read for showing, not necessarily ``ItemT``s.
    def stream(self, session: Session, actor: Actor, query: ListQuery) -> Iterator[object]: ...
    def get(self, session: Session, actor: Actor, item_id: int) -> ItemT | None: ...
    def get_for_update(self, session: Session, actor: Actor, item_id: int) -> ItemT | None: ...
    # ``formdata``: the posted form (a multidict), or None for a form showing ``item`` (or empty).
    def bind(self, formdata: Any, actor: Actor, item: ItemT | None = None, replace: Iterable[str] = ()) -> FormT: ...
    def create(self, session: Session, actor: Actor, form: FormT) -> ItemT: ...
    # Based on ``expected_version``: a store may merge the changes made since (answering ``Saved``) or refuse (``Conflict``).
    def update(self, session: Session, actor: Actor, item: ItemT, form: FormT, expected_version: int | None = None) -> ItemT | Saved[ItemT]: ...
    def delete(self, session: Session, actor: Actor, item_id: int) -> bool: ...
    def toggle(self, session: Session, actor: Actor, item_id: int, name: str, value: bool) -> ItemT | None: ...


class TrashStore(Protocol[ItemT_co]):
    """What a resource's trash (``Trash.store``) offers: its deleted items, and putting them back."""

    def trash_page(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page: ...
    def trash_count(self, session: Session, actor: Actor) -> int: ...
    def restore(self, session: Session, actor: Actor, item_id: int) -> ItemT_co | None: ...
    def restore_many(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int: ...
    def undo(self, session: Session, actor: Actor, token: str) -> int | None: ...


class HistoryStore(Protocol):
    """What a resource's history (``Resource.history``) offers: the recorded changes of an item."""

    def history(self, session: Session, actor: Actor, item_id: int) -> list[Any]: ...


class BulkStore(Protocol):
    """What a resource's bulk actions (``Bulk.store``) need: how many items a selection holds, and the action."""

    def count_selection(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int: ...
    def bulk(self, session: Session, actor: Actor, action: str, ids: list[int] | None, query: ListQuery) -> Done: ...


class ExportStore(Protocol):
    """What a resource's own export (``Resource.export``) offers: its columns and the items to write."""

    def export(self, session: Session, actor: Actor, query: ListQuery) -> tuple[list[ExportField], Iterator[Any]]: ...


@dataclass(frozen=True)
class Trash(Generic[ItemT]):
    """A resource's trash: deleted items stay restorable for ``days`` days, then they are removed for good."""

    store: TrashStore[ItemT]
    days: int


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected items of a list. ``done`` heads the message after it ("Deleted 3
    customers."), ``consequence`` tells on the confirmation page what it will do. The action named
    "delete" is the generic delete (shown as a danger; with a trash, its items go there)."""

    name: str
    label: str
    done: str
    consequence: str = ""


@dataclass(frozen=True)
class Bulk:
    """A resource's bulk actions and the store that runs them."""

    store: BulkStore
    actions: tuple[BulkAction, ...]

    def action(self, name: str) -> BulkAction | None:
        return next((a for a in self.actions if a.name == name), None)


@dataclass(frozen=True)
class Resource(Generic[ItemT, FormT]):
    name: str  # URL segment
    singular: str
    plural: str
    columns: tuple[Column, ...]
    search_label: str
    store: Store[ItemT, FormT]
    describe: Callable[[ItemT], str]  # how one item is named in messages
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
    cannot_delete: Callable[[Actor, ItemT], str] | None = None
    # Optional capabilities: None where the resource has none (its views then answer 404 and show no control).
    bulk: Bulk | None = None
    trash: Trash[ItemT] | None = None
    history: HistoryStore | None = None
    export: ExportStore | None = None  # None: an export holds the printed columns
    # How to read an item's version: its forms then carry the version the user's input is based on,
    # and the store's ``update`` gets it as ``expected_version``.
    version: Callable[[ItemT], int] | None = None

    def inline_field(self, form: Form, name: str) -> Any:
        """The bound field of ``form`` that the row field ``name`` is; a list without the entry named gets an empty one."""
        return form_field(form, name)

    @property
    def bulk_actions(self) -> tuple[BulkAction, ...]:
        return self.bulk.actions if self.bulk else ()

    @property
    def toggles(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "toggle")

    @property
    def sorts(self) -> tuple[str, ...]:
        return tuple(c.sort for c in self.columns if c.sort)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def form_field(form: BaseForm, name: str) -> Any:
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
