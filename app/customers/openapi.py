"""The request bodies of the Customers API in the OpenAPI document, derived from the form itself.

Two bodies: ``CustomerCreate`` (absent fields take their defaults, which it declares) and
``CustomerUpdate`` (a partial update: absent fields keep their value, so it declares no
default at all: a generated client must not send what it was not asked to). Each field's
schema comes from the form field's type and validators, so the document says what the
form accepts: lengths, patterns, choices, and that ``null`` means empty.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Reference, Schema
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField, HiddenField, IntegerField
from wtforms.validators import AnyOf, Email, Length, Regexp

from app.countries import choices as country_choices
from app.customers.forms import (
    LINE_BREAK_CHARACTERS,
    MAX_CHANNEL,
    MAX_SHIPPING_ADDRESSES,
    AddressForm,
    BirthdayField,
    CountryField,
    CustomerForm,
    StrictBooleanField,
    single_line,
)
from app.customers.payload import FLAT_ADDRESS_FIELDS, PHONE_ENTRY_FIELDS, PHONE_LIST_MAX_VERSION

# Text may hold line breaks and tabs, but no other control character (forms.no_control_characters).
# Written with escapes every regex dialect reads alike (ECMA-262, Python, Rust).
_NOT_CONTROL = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
# Neither a control character nor white space (what str.strip() removes).
_VISIBLE = "[^\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
TEXT = f"^{_NOT_CONTROL}*$"
# White space: what str.strip() removes from both ends of a one-line field before it is checked.
_SPACE = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"


def _escaped(characters: str) -> str:
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in characters)


# Inside a one-line field (forms.single_line): neither a control character nor a line break nor a tab.
_ONE_LINE = f"[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f{_escaped(LINE_BREAK_CHARACTERS)}]"


def one_line(maximum: int | None = None) -> str:
    """A one-line field as the form reads it: trimmed, then neither control characters nor line
    breaks, and at most ``maximum`` characters (so that is said here, not by a maxLength that
    would count the white space trimmed at either end too)."""
    inner = f"{{0,{maximum - 2}}}" if maximum and maximum >= 2 else "*"
    middle = f"({_ONE_LINE}{inner}{_VISIBLE})?" if maximum != 1 else ""
    return f"^{_SPACE}*({_VISIBLE}{middle})?{_SPACE}*$"
# Domains reserved for special use (RFC 6761), which the email check refuses; in any case.
SPECIAL_USE_DOMAIN = "[.@]({})$".format(
    "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name) for name in SPECIAL_USE_DOMAIN_NAMES)
)
NON_BLANK = f"^{_NOT_CONTROL}*{_VISIBLE}{_NOT_CONTROL}*$"
NULL = Schema(type=OpenAPIType.NULL)
EMPTY = Schema(type=OpenAPIType.STRING, max_length=0)


def _past_years() -> str:
    """Years 1000 up to last year: any date in them is in the past (a birthday cannot be in the future)."""
    return "|".join(["1[0-9]{3}", *(str(year) for year in range(2000, date.today().year))])


# A date (midnight in the account's time zone) or a date-time, in the past. Days up to 28 only,
# so that every date the pattern admits exists.
BIRTHDAY = (
    f"^({_past_years()})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    "(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{3}|\\.[0-9]{6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?)?$"
)


def _text_schema(field: Field) -> Schema:
    maximum = next((v.max for v in field.validators if isinstance(v, Length) and v.max and v.max > 0), None)
    for validator in field.validators:
        if isinstance(validator, AnyOf):
            return Schema(one_of=[Schema(type=OpenAPIType.STRING, enum=list(validator.values)), NULL])
        if isinstance(validator, Regexp):
            return Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], pattern=validator.regex.pattern, max_length=maximum)
        if isinstance(validator, Email):
            address = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.EMAIL, max_length=maximum, schema_not=Schema(pattern=SPECIAL_USE_DOMAIN))
            return Schema(any_of=[NULL, EMPTY, address])
    if single_line in field.validators:
        return Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], pattern=one_line(maximum))
    return Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], pattern=TEXT, max_length=maximum)


def _field_schema(field: Field, defaults: bool) -> Schema:
    label = str(field.label.text)
    if isinstance(field, StrictBooleanField):
        return Schema(
            type=[OpenAPIType.BOOLEAN, OpenAPIType.NULL], description=f"{label} (null: false)", default=False if defaults else None
        )
    if isinstance(field, IntegerField):
        return Schema(type=OpenAPIType.INTEGER, description=label, minimum=1, maximum=MAX_CHANNEL, default=field.default if defaults else None)
    if isinstance(field, HiddenField):
        # Any other value than an integer is ignored (a new address), so no type is declared.
        return Schema(description="Id of an address of this customer: that one is updated (an integer; anything else: a new address)")
    if isinstance(field, CountryField):
        return Schema(
            one_of=[Schema(type=OpenAPIType.STRING, enum=["", *sorted(code for code, _ in country_choices())]), NULL],
            description="ISO 3166 alpha-2 code (also accepted: the country's name in English or German, any case)",
        )
    if isinstance(field, BirthdayField):
        return Schema(
            any_of=[NULL, EMPTY, Schema(type=OpenAPIType.STRING, pattern=BIRTHDAY)],
            description="ISO 8601 date (1985-04-30: midnight in the account's time zone) or date-time "
            "(1985-04-30T10:49:52Z), not in the future",
        )
    schema = _text_schema(field)
    schema.description = f"{label} (null: empty)"
    return schema


def _form_properties(form: Form, defaults: bool) -> dict[str, Schema | Reference]:
    return {
        name: _field_schema(f, defaults)
        for name, f in form._fields.items()
        if not isinstance(f, (FormField, FieldList))
    }


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def _customer(defaults: bool) -> Schema:
    form = CustomerForm()
    properties = _form_properties(form, defaults)
    properties.pop("phone_type")
    phone = properties["phone_number"]
    assert isinstance(phone, Schema)
    phone.description = f"API version 10 and later (null: empty); version {PHONE_LIST_MAX_VERSION} and earlier check it but keep phone_numbers"
    if not defaults:
        properties.pop("channel")
    properties["phone_numbers"] = Schema(
        type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
        description=f"API version {PHONE_LIST_MAX_VERSION} and earlier, instead of phone_number "
        "(null or [] clears the phone number); later versions check it but keep phone_number. Its country_code, "
        "when country_code is sent too, is checked but country_code is kept",
        items=_ref("PhoneNumberIn"),
        max_items=1,
    )
    properties["billing_address"] = Schema(one_of=[_ref("AddressIn"), NULL], description="The billing address; null leaves it as it is")
    properties["shipping_address"] = Schema(
        type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
        items=_ref("AddressIn"),
        max_items=MAX_SHIPPING_ADDRESSES,
        description="Shipping addresses; when sent, the list replaces the stored one (null: none)",
    )
    address = _form_properties(AddressForm(), defaults)
    for name in FLAT_ADDRESS_FIELDS:
        schema = address[name]
        assert isinstance(schema, Schema)
        properties[name] = replace(schema, description=f"Flat form of billing_address.{name}")
    return Schema(type=OpenAPIType.OBJECT, properties=properties)


@lru_cache(maxsize=1)
def request_schemas() -> dict[str, Schema]:
    """The component schemas of the request bodies."""
    create = _customer(defaults=True)
    create.title = "CustomerCreate"
    create.description = "A new customer: company, or both first_name and last_name, must be set (not blank)."
    # The name rule, in a form that every validator reads and that typed clients may ignore.
    create.schema_if = Schema(
        schema_not=Schema(required=["company"], properties={"company": Schema(type=OpenAPIType.STRING, pattern=NON_BLANK)})
    )
    create.then = Schema(
        required=["first_name", "last_name"],
        properties={name: Schema(type=OpenAPIType.STRING, pattern=NON_BLANK) for name in ("first_name", "last_name")},
    )
    update = _customer(defaults=False)
    update.title = "CustomerUpdate"
    update.description = (
        "A partial update: only the fields sent change, and nothing has a default. The result must still have "
        "a company or both first_name and last_name, else 400 with the name fields listed. `channel` is set at "
        "creation; sent with its current value it is accepted, with another a field error."
    )
    address_form = AddressForm()
    address = Schema(type=OpenAPIType.OBJECT, properties=_form_properties(address_form, False), title="AddressIn")
    phone_form = CustomerForm()
    phone = Schema(
        type=OpenAPIType.OBJECT,
        title="PhoneNumberIn",
        properties={source: _field_schema(phone_form[target], False) for source, target in PHONE_ENTRY_FIELDS.items()},
    )
    return {"CustomerCreate": create, "CustomerUpdate": update, "AddressIn": address, "PhoneNumberIn": phone}
