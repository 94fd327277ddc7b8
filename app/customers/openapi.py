"""The request body schema of the Customers API, derived from the form itself."""

from __future__ import annotations

from functools import lru_cache

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Reference, RequestBody, Schema
from wtforms import Form
from wtforms.fields import FieldList, FormField, HiddenField, IntegerField
from wtforms.validators import AnyOf, Length

from app.customers.forms import (
    AddressForm,
    CountryField,
    CustomerForm,
    StrictBooleanField,
)
from app.customers.payload import FLAT_ADDRESS_FIELDS


def _field_schema(field) -> Schema:
    if isinstance(field, StrictBooleanField):
        return Schema(type=OpenAPIType.BOOLEAN, description=str(field.label.text), default=False)
    if isinstance(field, IntegerField):
        return Schema(type=OpenAPIType.INTEGER, description=str(field.label.text), minimum=1)
    if isinstance(field, HiddenField):
        return Schema(type=OpenAPIType.INTEGER, description="Id of an existing address to keep")
    schema = Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], description=str(field.label.text))
    for validator in field.validators:
        if isinstance(validator, Length) and validator.max and validator.max > 0:
            schema.max_length = validator.max
        if isinstance(validator, AnyOf):
            schema.enum = list(validator.values)
    if isinstance(field, CountryField):
        schema.description = "ISO 3166 alpha-2 code, or the country's name in English or German"
    if field.name == "birthday":
        schema.description = "ISO 8601 date-time, such as 1985-04-30T10:49:52Z"
        schema.format = OpenAPIFormat.DATE_TIME
    return schema


def _form_schema(form: Form) -> dict[str, Schema | Reference]:
    return {name: _field_schema(f) for name, f in form._fields.items() if not isinstance(f, (FormField, FieldList))}


@lru_cache(maxsize=1)
def customer_request_body() -> RequestBody:
    form = CustomerForm()
    address = Schema(type=OpenAPIType.OBJECT, properties=_form_schema(AddressForm()))
    properties = _form_schema(form)
    properties.pop("phone_type", None)
    properties["phone_numbers"] = Schema(
        type=OpenAPIType.ARRAY,
        description="API version 9 and earlier, instead of phone_number: at most one entry",
        items=Schema(
            type=OpenAPIType.OBJECT,
            properties={k: Schema(type=OpenAPIType.STRING) for k in ("national_number", "country_code", "type")},
        ),
    )
    properties["billing_address"] = address
    properties["shipping_address"] = Schema(type=OpenAPIType.ARRAY, items=address)
    for name in FLAT_ADDRESS_FIELDS:
        properties[name] = Schema(type=OpenAPIType.STRING, description=f"Flat form of billing_address.{name}")
    schema = Schema(
        type=OpenAPIType.OBJECT,
        properties=properties,
        description="Company, or both first_name and last_name, must be set. On update, only the fields sent change.",
    )
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=schema)}, required=True)
