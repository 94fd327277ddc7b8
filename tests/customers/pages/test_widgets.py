"""The widgets' faster attribute writer gives WTForms' own HTML, byte for byte."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from wtforms import Form, widgets
from wtforms.fields import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import Length

from app.customers.forms import BirthdayField, CustomerForm, StrictBooleanField
from app.web import widgets as ours

NASTY = ['', 'plain', '<b>"quoted" & \'single\'</b>', Markup('<i class="x">safe</i>'), 0, 42, None, "ü€ 𝄞", "a\r\nb\tc"]


@pytest.mark.parametrize("value", NASTY)
def test_html_params_matches_wtforms(value):
    cases = [
        {"value": value},
        {"name": "n", "id": "i", "value": value, "maxlength": 100},
        {"class_": value, "for_": "x", "data_foo_bar": value, "aria_described_by": value},
        {"checked": True, "disabled": False, "required": True, "value": value},
        {"Markup_key": Markup('"'), "z": value, "a": value},
        {},
    ]
    for kwargs in cases:
        expected = widgets.html_params(**kwargs)
        got = ours.html_params(**kwargs)
        assert got == expected and isinstance(got, Markup), kwargs


class Plain(Form):
    text = StringField(validators=[Length(max=10)])
    area = TextAreaField(validators=[Length(min=1, max=10)])
    hidden = HiddenField()
    number = IntegerField()


class Fast(Form):
    text = StringField(validators=[Length(max=10)], widget=ours.TextInput())
    area = TextAreaField(validators=[Length(min=1, max=10)], widget=ours.TextArea())
    hidden = HiddenField(widget=ours.HiddenInput())
    number = IntegerField(widget=ours.NumberInput())


@pytest.mark.parametrize("value", [v for v in NASTY if isinstance(v, str)])
def test_widgets_render_as_wtforms_does(value):
    from litestar.datastructures import MultiDict

    data = MultiDict({"text": value, "area": value, "hidden": value, "number": value})
    plain, fast = Plain(data), Fast(data)
    for name in ("text", "area", "hidden", "number"):
        for kwargs in ({}, {"class_": "c", "aria_invalid": "true", "autocomplete": "off"}, {"type": "email", "disabled": True}):
            assert fast[name](**kwargs) == plain[name](**kwargs), (name, kwargs)


def test_customer_form_renders_as_with_wtforms_widgets():
    """Every field of the customer form, ticked and unticked, valid and not, as WTForms' widgets write it."""
    from litestar.datastructures import MultiDict

    data = MultiDict(
        {
            "first_name": '<Müller & "Sons">',
            "note": "line\r\n<two>",
            "birthday": "not a date",
            "is_vip": "y",
            "channel": "x",
            "billing_address-city": "'Köln'",
            "shipping_address-0-id": "7",
            "shipping_address-0-zipcode": '"5"',
        }
    )
    form = CustomerForm(data)
    form.validate()
    standard = {
        StrictBooleanField: widgets.CheckboxInput(),
        BirthdayField: widgets.DateInput(),
        IntegerField: widgets.NumberInput(),
        HiddenField: widgets.HiddenInput(),
        TextAreaField: widgets.TextArea(),
    }

    def fields(f):
        for field in f:
            if field.type == "FormField":
                yield from fields(field.form)
            elif field.type == "FieldList":
                for entry in field.entries:
                    yield from fields(entry.form)
            else:
                yield field

    checked = 0
    for field in fields(form):
        if field.type == "CountryField" or isinstance(field.widget, ours.OptionsSelect):
            continue  # widgets of their own: options rendered once; a select of fixed values (below)
        reference = next((w for cls, w in standard.items() if isinstance(field, cls)), None)
        if reference is None:  # a line of text: the WTForms input its widget stands for (text, email, tel)
            reference = type(field.widget).__bases__[0]()
        for kwargs in ({}, {"aria_invalid": "true", "aria_describedby": f"{field.id}-error"}, {"type": "email", "autocomplete": "off"}):
            assert field(**kwargs) == reference(field, **{**(field.render_kw or {}), **kwargs}), field.name
        checked += 1
    assert checked > 30


def test_options_select_offers_its_values_and_keeps_any_other():
    """A select of fixed values: the current one selected, one not among them offered too, all escaped."""
    from litestar.datastructures import MultiDict

    class Titled(Form):
        title = StringField(widget=ours.OptionsSelect(("", "Mr.", "Ms.")))

    assert Titled(MultiDict({"title": "Ms."})).title(aria_invalid="true") == Markup(
        '<select aria-invalid="true" id="title" name="title"><option value="">—</option>'
        '<option value="Mr.">Mr.</option><option value="Ms." selected>Ms.</option></select>'
    )
    assert Titled().title() == Markup(
        '<select id="title" name="title"><option value="" selected>—</option>'
        '<option value="Mr.">Mr.</option><option value="Ms.">Ms.</option></select>'
    )
    other = Titled(MultiDict({"title": '<b>"Dr."</b>'})).title()
    assert other.endswith('<option value="&lt;b&gt;&#34;Dr.&#34;&lt;/b&gt;" selected>&lt;b&gt;&#34;Dr.&#34;&lt;/b&gt;</option></select>')
