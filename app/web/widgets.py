"""WTForms' own widgets, writing their attributes faster: the same HTML.

WTForms writes each attribute through ``Markup.format`` (Python's string
formatter, run once per attribute); an edit page has some fifty inputs with
five attributes each, and that cost more than the rest of its template. The
writer here escapes the same way with plain string operations.
tests/customers/pages/test_widgets.py holds it to WTForms' own output.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from wtforms import widgets


def html_params(**kwargs: Any) -> Markup:
    """What ``wtforms.widgets.html_params`` returns, for the same arguments."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = key.rstrip("_")
        if key.startswith(("data_", "aria_")):
            key = key.replace("_", "-")
        if value is True:
            params.append(str(escape(key)))
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")
            params.append(f'{escape(key)}="{text}"')
    return Markup(" ".join(params))


def _faster(widget: type) -> type:
    """A subclass of one of WTForms' input widgets that writes its attributes with ``html_params`` above."""
    return type(widget.__name__, (widget,), {"html_params": staticmethod(html_params), "__module__": __name__})


TextInput = _faster(widgets.TextInput)
HiddenInput = _faster(widgets.HiddenInput)
NumberInput = _faster(widgets.NumberInput)
DateInput = _faster(widgets.DateInput)
CheckboxInput = _faster(widgets.CheckboxInput)
EmailInput = _faster(widgets.EmailInput)
TelInput = _faster(widgets.TelInput)
PasswordInput = _faster(widgets.PasswordInput)


class OptionsSelect:
    """A ``<select>`` of fixed ``values`` for a text field, the empty value shown as "—". A value the field
    holds that is not among them is offered too, selected: the form shows, and posts back, what it holds."""

    def __init__(self, values: tuple[str, ...]) -> None:
        self.values = values

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        current = field.data or ""
        values = self.values if current in self.values else (*self.values, current)
        options = "".join(f'<option value="{escape(v)}"{" selected" if v == current else ""}>{escape(v or "—")}</option>' for v in values)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class TextArea(widgets.TextArea):
    """WTForms' TextArea calls the module's writer, not its own: its body again, with this one."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        return Markup(f"<textarea {html_params(name=field.name, **kwargs)}>\r\n{escape(field._value())}</textarea>")
