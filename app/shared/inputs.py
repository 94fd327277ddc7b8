"""What comes in from outside, read one way everywhere: whole numbers (ids, pages,
versions, limits, header values, settings), search text, and the characters a
typed text may hold.

Python's own readers are too lenient for input: ``int()`` takes "٧٨٢",
"７８２", " 7", "+7" and "7_0" as numbers, ``str.isdigit()`` says yes to "²"
(which ``int()`` then refuses) and ``int()`` raises on more than 4,300 digits.
A URL, form, header or setting holds a number only if it is written in ASCII
digits and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from wtforms import ValidationError
from wtforms.fields import Field

# One option of a select field, as WTForms 3.3 declares them (its tuples are deprecated), and one as it
# renders them (value, label, selected, render_kw: what its Select.render_option takes); the stubs,
# types-WTForms for 3.2, do not have them yet, so they stay untyped until they do.
from wtforms.fields.choices import Choice as Choice  # type: ignore[attr-defined]
from wtforms.fields.choices import SelectChoice as SelectChoice  # type: ignore[attr-defined]

# Longer strings of digits are no number we read (and int() refuses more than 4,300 digits).
MAX_DIGITS = 1000
# The largest id: ids are Integer columns, of 32 bits on PostgreSQL (SQLite's hold more, but the
# schema is one for both). An id beyond it names nothing, and is never sent to the database (where
# PostgreSQL would refuse it as out of range).
MAX_ID = 2**31 - 1
_ASCII_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def whole_number(raw: Any) -> int | None:
    """``raw`` as a whole number if it is a string of ASCII digits only (no sign, space,
    underscore or digits of another script), of at most MAX_DIGITS; None otherwise."""
    if isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw):
        return int(raw)
    return None


def numbers_in_path(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for every route: an ``{name:int}`` part of a path matches ASCII digits only.

    Litestar parses those parts with ``int()``, so without this ``/api/customers/٧٨٢/``
    or ``/api/customers/+782/`` would act on customer 782."""
    params: Mapping[str, object] = connection.scope.get("path_params") or {}  # typed str, but Litestar has parsed them
    if not any(type(value) is int for value in params.values()):
        return
    template = connection.scope.get("path_template") or ""  # "/api/customers/{customer_id}"
    for part, raw in zip(template.strip("/").split("/"), connection.scope["path"].strip("/").split("/")):
        if part.startswith("{") and type(params.get(part[1:-1])) is int:
            number = whole_number(raw)
            if number is None or number > MAX_ID:
                raise NotFoundException()


# -- search ------------------------------------------------------------------------

MAX_SEARCH = 200


def search_text(raw: Any) -> str:
    """A search as the user typed it, safe for every database and every index: printable
    characters only (no NUL, no other control or invisible formatting character, no lone
    surrogate), words separated by single spaces, at most MAX_SEARCH characters."""
    text = "".join(c for c in str(raw or "") if c.isprintable() or c.isspace())
    return " ".join(text.split())[:MAX_SEARCH]


# -- typed text ---------------------------------------------------------------------

# C0 controls and DEL; tabs and line breaks are allowed.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
JOINERS = frozenset("\u200c\u200d")  # zero width non-joiner and joiner
# Scripts that never need a joiner: between two of their letters one only hides a difference.
_JOINERLESS_SCRIPTS = ("LATIN ", "GREEK ", "CYRILLIC ")


def _joins(before: str, after: str) -> bool:
    """Whether a joiner between these two characters is one a script or an emoji sequence needs."""
    for c in (before, after):
        if unicodedata.category(c)[0] not in "LMS" or unicodedata.name(c, "").startswith(_JOINERLESS_SCRIPTS):
            return False
    return True


def hidden_character(text: str) -> str | None:
    """The first invisible formatting character in ``text`` that could disguise it, or None.

    That is every character of Unicode's "format" category (Cf): the direction overrides,
    embeddings and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what follows them
    on screen and in a spreadsheet, the direction marks, the zero-width space, word joiner and
    byte order mark, the soft hyphen and the tag characters; and the line and paragraph
    separators (U+2028, U+2029). A zero-width joiner or non-joiner is allowed only between
    two letters, marks or symbols of a script that uses them (Persian, the Indic scripts) or
    within an emoji sequence, never next to a Latin, Greek or Cyrillic letter, a digit or a space."""
    for index, c in enumerate(text):
        category = unicodedata.category(c)
        if category not in ("Cf", "Zl", "Zp"):
            continue
        if c in JOINERS and 0 < index < len(text) - 1 and _joins(text[index - 1], text[index + 1]):
            continue
        return c
    return None


def describe_character(c: str) -> str:
    return f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED CHARACTER')}"


def plain_text(form: Any, field: Any) -> None:
    """The WTForms validator of every typed text field: no control characters (tabs and line
    breaks are fine) and no invisible formatting characters (``hidden_character``)."""
    data = field.data
    if not isinstance(data, str):
        return
    if CONTROL.search(data):
        raise ValidationError("Contains a control character that is not allowed.")
    hidden = hidden_character(data)
    if hidden is not None:
        raise ValidationError(f"Contains an invisible character that is not allowed ({describe_character(hidden)}): type it again without it.")


def strip(value: object) -> object:
    """The WTForms filter of a typed text field: without leading and trailing white space."""
    return value.strip() if isinstance(value, str) else value


def add_error(field: Field, message: str) -> None:
    """One more error on a field, after its own validation (its stubs type the errors as a Sequence)."""
    field.errors = [*field.errors, message]


def validated_text(field: Field) -> str:
    """The text of a validated form's field: WTForms reads a missing input as "" (its stubs allow None)."""
    assert isinstance(field.data, str), field.name
    return field.data


def validated_choices(field: Field) -> list[str]:
    """The chosen values of a validated form's multiple-choice field (its stubs allow None)."""
    assert isinstance(field.data, list), field.name
    return [str(value) for value in field.data]
