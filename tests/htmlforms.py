"""The forms of a page, read as a browser reads them, and what it would submit.

The rules of the HTML standard that change what a form sends back: the parser
turns every CR and CRLF of the page into LF and drops the newline right after
``<textarea>``; text, search, tel and password inputs drop line breaks from
their value, email and url inputs also trim ASCII whitespace, number and date
inputs send nothing for a value that is not a number or a date; an unchecked
checkbox sends nothing, a checked one its value ("on" without one); a select
sends its last selected option, or its first; an option without a value sends
its text, whitespace collapsed; buttons send nothing unless they submit; and
on submission every line break becomes CRLF.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

LINE_BREAKS = re.compile(r"[\r\n]")
ASCII_WHITESPACE = "\t\n\f\r "
FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
DATE = re.compile(r"([0-9]{4,})-([0-9]{2})-([0-9]{2})")
BUTTONS = frozenset({"submit", "button", "image", "reset"})


def _valid_date(value: str) -> bool:
    match = DATE.fullmatch(value)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return year > 0 and 1 <= month <= 12 and 1 <= day <= days[month - 1]


def sanitized(kind: str, value: str) -> str:
    """An input's value as its type's value sanitization algorithm leaves it."""
    if kind in ("text", "search", "tel", "password"):
        return LINE_BREAKS.sub("", value)
    if kind in ("email", "url"):
        return LINE_BREAKS.sub("", value).strip(ASCII_WHITESPACE)
    if kind == "number":
        return value if FLOAT.fullmatch(value) else ""
    if kind == "date":
        return value if _valid_date(value) else ""
    return value


def _crlf(value: str) -> str:
    return re.sub(r"\r\n|\r|\n", "\r\n", value)


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

    def submitted(self) -> list[tuple[str, str]]:
        """The entry list as the browser sends it: in document order, line breaks as CRLF."""
        return [(_crlf(k), _crlf(v)) for k, v in self.fields]

    def urlencoded(self) -> bytes:
        """The body of the submission (application/x-www-form-urlencoded, UTF-8)."""
        return urlencode(self.submitted()).encode("ascii")


class _Select:
    def __init__(self, name: str) -> None:
        self.name = name
        self.options: list[tuple[str, bool]] = []  # (value, selected)
        self.option: dict[str, str] | None = None
        self.text: list[str] = []


class _FormParser(HTMLParser):
    """Every form of a page with what a browser would submit (no buttons)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: _Select | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower(), a.get("class", ""))
            self.forms.append(self._form)
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in BUTTONS:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
                return
            self._form.fields.append((name, sanitized(kind, a.get("value", ""))))
        elif tag == "select" and name:
            self._select = _Select(name)
        elif tag == "option" and self._select is not None:
            self._end_option()
            self._select.option = a
            self._select.text = []
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        elif self._select is not None and self._select.option is not None:
            self._select.text.append(data)

    def _end_option(self) -> None:
        select = self._select
        if select is None or select.option is None:
            return
        attrs = select.option
        value = attrs["value"] if "value" in attrs else re.sub(r"[\t\n\f\r ]+", " ", "".join(select.text)).strip(ASCII_WHITESPACE)
        select.options.append((value, "selected" in attrs))
        select.option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None and self._form is not None:
            self._end_option()
            options = self._select.options
            chosen = [value for value, selected in options if selected]
            if chosen or options:
                self._form.fields.append((self._select.name, chosen[-1] if chosen else options[0][0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            self._form.fields.append((self._textarea, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    # The input stream's preprocessing: every CR and CRLF becomes LF.
    parser.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    return parser.forms


def form_to(html: str, action: str) -> Form:
    """The form of a page that posts to ``action``."""
    found = [f for f in forms(html) if f.action == action and f.method == "post"]
    assert found, f"no form posting to {action} in:\n{html[:2000]}"
    return found[0]
