"""Recorded changes as people read them: the form's labels and its fields' way of showing a value.

A history event holds ``{path: [old, new]}`` with dotted paths into the
resource's form (``billing_address.city``, ``shipping_address.1.zipcode``;
a list's own name holds its length) and stored values (ISO 8601 for times).
Each path is looked up in the form itself, so the labels are the ones the
edit page shows, and each value is shown by its field: a yes/no for a
checkbox, the option's label for a choice, and a field's own ``display``
where it has one (a time in the account's time zone, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wtforms import Form
from wtforms.fields import Field, FieldList, FormField
from wtforms.form import BaseForm

from app.shared.inputs import whole_number

EMPTY = ""


@dataclass(frozen=True)
class Row:
    label: str
    old: str  # as shown; "" when empty
    new: str


MAX_ENTRIES = 1000


def _locate(form: Form, path: str) -> tuple[str, Field, tuple[int, ...]] | None:
    """The label, the field and the place in the form (for ordering) of a dotted path, or None."""
    labels: list[str] = []
    place: list[int] = []
    fields: BaseForm = form
    field: Field | None = None
    for name in path.split("."):
        if isinstance(field, FieldList):
            index = whole_number(name)
            if index is None or index >= (field.max_entries or MAX_ENTRIES):
                return None
            while len(field.entries) <= index:
                field.append_entry()
            field = field.entries[index]
            labels[-1] = f"{field.label.text} {index + 1}"
            place.append(index)
            continue
        if field is not None:
            if not isinstance(field, FormField):
                return None
            fields = field.form
        names = list(fields._fields)
        if name not in names:
            return None
        field = fields._fields[name]
        labels.append(str(field.label.text))
        place.append(names.index(name))
    if field is None:
        return None
    return ": ".join(labels), field, tuple(place)


def shown(field: Field, value: Any) -> str:
    """A stored value as the field shows it; "" for nothing."""
    if value is None or value == "":
        return EMPTY
    display = getattr(field, "display", None)
    if callable(display):
        return str(display(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(field, FieldList):
        return str(value)
    iter_choices = getattr(field, "iter_choices", None)
    if callable(iter_choices):
        for choice in iter_choices():
            if choice[0] == value:
                return str(choice[1])
    return str(value)


def rows(form: Form, changes: dict[str, Any], created: bool = False) -> list[Row]:
    """Each change as (label, old, new) shown; unchanged-looking ones left out. For a create,
    the values that differ from the form's defaults: what was set."""
    out: list[tuple[tuple[int, ...], Row]] = []
    for path, pair in changes.items():
        old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        found = _locate(form, path)
        place: tuple[int, ...]
        if found is None:  # a field the form no longer has: as it was recorded, after the others
            label, old_text, new_text, place = path, _plain(old), _plain(new), (MAX_ENTRIES,)
        else:
            label, field, place = found
            if created and new == field.default:
                continue
            old_text, new_text = shown(field, old), shown(field, new)
        if created:
            old_text = EMPTY
        if old_text != new_text:
            out.append((place, Row(label, old_text, new_text)))
    return [row for _, row in sorted(out, key=lambda pair: pair[0])]


def _plain(value: Any) -> str:
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
