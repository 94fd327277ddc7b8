"""The cells of a list row, written in Python as Markup: each value read from an item is escaped
here, once, where it is read, and the row template (autoescaped like every template) writes the
result as it is. A kind of column is one function below; ``CELLS`` must name each ``ColumnKind``.

A macro per cell, or the template escaping every id and name it writes, cost a third of the list
page each; this writes a row's cells in a few string operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from app.admin.resource import Column, ColumnKind


def _text(value: Any) -> str:
    return "" if value is None or value == "" else escape(value)


def _title(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    return f'<a class="title" href="{base}">{escape(getattr(item, column.name) or "—")}</a>'


def _email(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    value = getattr(item, column.name)
    if not value:
        return _text(value)
    shown = escape(value)
    return f'<a href="mailto:{shown}">{shown}</a>'


def _phone(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    value = getattr(item, column.name)
    if not value:
        return _text(value)
    return f'<a href="tel:{escape(value.replace(" ", ""))}">{escape(value)}</a>'


def _toggle(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    on = bool(getattr(item, column.name))
    action = f"{base}/toggle/{column.name}"
    name = escape(column.label)
    return (
        f'<form method="post" action="{action}"\n'
        f'        hx-post="{action}" hx-target="closest tr" hx-swap="outerHTML">\n'
        f'    <input type="hidden" name="_csrf_token" value="{escape(csrf)}">\n'
        f'    <input type="hidden" name="value" value="{"" if on else "1"}">\n'
        f'    <button type="submit" class="star" aria-pressed="{"true" if on else "false"}"\n'
        f'      aria-label="{name}: {escape(label)}" title="{"Remove from" if on else "Add to"} {escape(column.label.lower())}s">'
        f'{"★" if on else "☆"}</button>\n'
        "  </form>"
    )


def _badges(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    return "".join(
        f'<span class="badge badge-{escape(badge.lower())}">{escape(badge)}</span>' for attr, badge in column.badges if getattr(item, attr)
    )


def _plain(column: Column, item: Any, base: str, label: str, csrf: str) -> str:
    return _text(getattr(item, column.name))


CELLS: dict[ColumnKind, Callable[[Column, Any, str, str, str], str]] = {
    "text": _plain,
    "title": _title,
    "email": _email,
    "phone": _phone,
    "toggle": _toggle,
    "badges": _badges,
    "datetime": _plain,
    "date": _plain,
}


class RowCells:
    """The cells of the list rows of ``columns`` under ``path``: ``cells(item, label, csrf_token)`` is one
    row's, as Markup (``label`` how the item is named, ``csrf_token`` the page's CSRF token)."""

    def __init__(self, path: str, columns: tuple[Column, ...]) -> None:
        self.path = path
        self.columns = [(column, CELLS[column.kind], f'<td class="col-{column.kind}" data-label="{escape(column.label)}">') for column in columns]

    def __call__(self, item: Any, label: str, csrf: str) -> Markup:
        base = f"{self.path}/{int(item.id)}"
        return Markup("".join(f"{head}{cell(column, item, base, label, csrf)}</td>" for column, cell, head in self.columns))
