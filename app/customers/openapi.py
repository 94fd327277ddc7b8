"""The request bodies of the Customers API in the OpenAPI document, derived from the form itself.

Two bodies: ``CustomerCreate`` (absent fields take their defaults, which its descriptions
tell) and ``CustomerUpdate`` (a partial update: absent fields keep their value). Neither
declares a ``default``: a generated client would send it, or make the field required. Each field's
schema comes from the form field's type and validators, so the document says what the
form accepts: lengths, patterns, choices, and that ``null`` means empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Reference, Schema
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField, HiddenField, IntegerField
from wtforms.validators import AnyOf, Email, Length, Regexp

from app.customers.forms import (
    LINE_BREAK_CHARACTERS,
    MAX_CHANNEL,
    MAX_PHONE_NUMBERS,
    MAX_SHIPPING_ADDRESSES,
    AddressForm,
    BirthdayField,
    CountryField,
    CustomerForm,
    PhoneForm,
    StrictBooleanField,
    single_line,
)
from app.customers.payload import FLAT_ADDRESS_FIELDS, PHONE_ENTRY_FIELDS, PHONE_LIST_MAX_VERSION

# Text may hold line breaks and tabs, but no other control character (inputs.plain_text).
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


def _text_schema(field: Field) -> Schema:
    # As objects: types-WTForms' Length takes only a StringField, so a Field's validators never narrow to it.
    validators: Sequence[object] = field.validators
    maximum = next((v.max for v in validators if isinstance(v, Length) and v.max and v.max > 0), None)
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


def _field_schema(field: Field, create: bool) -> Schema:
    label = str(field.label.text)
    if isinstance(field, StrictBooleanField):
        return Schema(
            type=[OpenAPIType.BOOLEAN, OpenAPIType.NULL], description=f"{label} ({'absent or null' if create else 'null'}: false)"
        )
    if isinstance(field, IntegerField):
        absent = f" (absent: {field.default})" if create else ""
        return Schema(type=OpenAPIType.INTEGER, description=f"{label}{absent}", minimum=1, maximum=MAX_CHANNEL)
    if isinstance(field, HiddenField):
        return Schema(
            type=[OpenAPIType.INTEGER, OpenAPIType.NULL],
            description="In a shipping entry, the id of one of the customer's shipping addresses: that one is updated "
            "(another id, or one named by an entry before: a field error). Without it (or null), the stored address at the "
            "entry's position is, and entries beyond are new. Ignored in the billing address",
        )
    if isinstance(field, CountryField):
        # No enum: names are accepted too, in any case (and an enum of codes made a client refuse them).
        return Schema(
            type=[OpenAPIType.STRING, OpenAPIType.NULL],
            description="The country: an ISO 3166 alpha-2 code such as DE, in any case, or the country's name in English "
            "or German such as Germany or Deutschland; it is stored and answered as the code. Another value: a field "
            "error. Empty or null: none",
        )
    if isinstance(field, BirthdayField):
        # No pattern: the forms the server reads (forms.BirthdayField) are more than a pattern can list
        # exactly, and one that refused some of them made generated clients refuse valid birthdays.
        return Schema(
            type=[OpenAPIType.STRING, OpenAPIType.NULL],
            description="An ISO 8601 date (1985-04-30: midnight in the account's time zone) or date and time, with `T` "
            "or a space, seconds and their fraction optional, with an offset (Z, +02:00, +0200) or without (then in "
            "the account's time zone): 1985-04-30T10:49:52Z, 1985-04-30 10:00:00, 1984-02-29T23:59:59.5+0200. "
            "A date that does not exist or is in the future: a field error. Empty or null: none",
        )
    schema = _text_schema(field)
    schema.description = f"{label} (null: empty)"
    return schema


def _form_properties(form: Form, create: bool) -> dict[str, Schema | Reference]:
    return {
        name: _field_schema(f, create)
        for name, f in form._fields.items()
        if not isinstance(f, (FormField, FieldList))
    }


def _schema(value: Schema | Reference) -> Schema:
    assert isinstance(value, Schema)
    return value


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def _customer(create: bool) -> Schema:
    form = CustomerForm()
    properties = _form_properties(form, create)
    if not create:
        properties.pop("channel")
    phone = _form_properties(PhoneForm(), create)
    properties["phone_number"] = replace(
        _schema(phone["national_number"]),
        description="The first phone number (any version; answered by version 10 and later): checked by the phone-number "
        "library for the country its country code, else the billing address, else DE names; a number written with its "
        "country (+49 30 …) is kept in national format, with that country code. Empty or null: the first number is removed. "
        "Not with phone_numbers",
    )
    properties["country_code"] = replace(
        _schema(phone["country_code"]),
        description="The first phone number's country calling code, such as 49 (filled in from the number when not sent). "
        "With phone_numbers: only empty or null",
    )
    properties["phone_numbers"] = Schema(
        type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
        description=f"Every phone number, in order (any version; answered by version {PHONE_LIST_MAX_VERSION} and earlier): "
        "replaces the list; entries without a number are left out ([] or null: none). Not with phone_number",
        items=_ref("PhoneNumberIn"),
        max_items=MAX_PHONE_NUMBERS,
    )
    properties["billing_address"] = Schema(one_of=[_ref("AddressIn"), NULL], description="The billing address; null leaves it as it is")
    properties["shipping_address"] = Schema(
        type=[OpenAPIType.ARRAY, OpenAPIType.NULL],
        items=_ref("AddressIn"),
        max_items=MAX_SHIPPING_ADDRESSES,
        description="Shipping addresses. On update, each entry changes only the fields it sends of the stored address "
        "its id names, or without an id of the one at its position; entries beyond the stored ones are new; stored "
        "addresses no entry takes are removed ([] or null: none)",
    )
    address = _form_properties(AddressForm(), create)
    for name in FLAT_ADDRESS_FIELDS:
        schema = address[name]
        assert isinstance(schema, Schema)
        properties[name] = replace(schema, description=f"Flat form of billing_address.{name}")
    return Schema(type=OpenAPIType.OBJECT, properties=properties)


@lru_cache(maxsize=1)
def request_schemas() -> dict[str, Schema]:
    """The component schemas of the request bodies."""
    create = _customer(create=True)
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
    update = _customer(create=False)
    update.title = "CustomerUpdate"
    update.description = (
        "A partial update: only the fields sent change, and nothing has a default. The result must still have "
        "a company or both first_name and last_name, else 400 with the name fields listed. `channel` is set at "
        "creation; sent with its current value it is accepted, with another a field error."
    )
    address_form = AddressForm()
    address = Schema(type=OpenAPIType.OBJECT, properties=_form_properties(address_form, False), title="AddressIn")
    phone_form = PhoneForm()
    phone = Schema(
        type=OpenAPIType.OBJECT,
        title="PhoneNumberIn",
        description="A phone number; its country code as country_code or, as the reference spells it, county_code (both: the same value)",
        properties={
            "id": Schema(
                type=[OpenAPIType.INTEGER, OpenAPIType.NULL],
                description="The id of one of the customer's phone numbers (as answered): that one is updated in place. "
                "Without it (or with an id that is not one of them), the stored number at the entry's position is, unless "
                "another entry names that one; entries beyond are new, and stored numbers no entry takes are removed",
            ),
            **{source: _field_schema(phone_form[target], False) for source, target in PHONE_ENTRY_FIELDS.items()},
        },
    )
    return {"CustomerCreate": create, "CustomerUpdate": update, "AddressIn": address, "PhoneNumberIn": phone}
