"""Between the API's JSON and the customer form: both address forms, v9 and v10 phones.

A request body is flattened into the form's own field names
(``billing_address-city``, ``shipping_address-0-city``) so that the form
validates it exactly as it validates the HTML page. Only what JSON itself
adds is checked here: that each value has the JSON type the field needs.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

from litestar.datastructures import MultiDict
from wtforms.fields import FormField
from wtforms.form import BaseForm

from app.customers.forms import (
    ADDRESS_FORM_FIELDS,
    BOOLEAN_FIELDS,
    INTEGER_FIELDS,
    MAX_PHONE_NUMBERS,
    MAX_SHIPPING_ADDRESSES,
    PHONE_LIMIT_MESSAGE,
    SCALAR_FIELDS,
    SHIPPING_LIMIT_MESSAGE,
    CustomerForm,
)
from app.customers.models import ADDRESS_FIELDS, Address, Customer
from app.customers.schemas import (
    AddressOut,
    CustomerV9,
    CustomerV10,
    PhoneNumber,
)

PHONE_LIST_MAX_VERSION = 9
FLAT_ADDRESS_FIELDS = ("address1", "address2", "zipcode", "city", "state", "country")
# Fields a client sends inside phone_numbers entries, and the phone form's field each fills
# (the reference lists the country code as "county_code": that spelling is read too).
PHONE_ENTRY_FIELDS = {"national_number": "national_number", "country_code": "country_code", "county_code": "country_code", "type": "type"}

TYPE_MESSAGES = {
    "str": "Must be a string.",
    "bool": "Must be true or false.",
    "int": "Must be a whole number.",
    "object": "Must be an object.",
    "list": "Must be a list.",
}


class Flattened:
    """Form data built from a JSON body, with the type errors found on the way."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.errors: dict[str, list[str]] = {}
        # form path -> the path the client used, where they differ
        self.aliases: dict[str, str] = {}

    def add(self, key: str, value: str) -> None:
        self.items.append((key, value))

    def error(self, path: str, kind: str) -> None:
        self.errors.setdefault(path, []).append(TYPE_MESSAGES[kind])

    @property
    def formdata(self) -> MultiDict[str]:
        return MultiDict(self.items)


def _scalar(flat: Flattened, key: str, path: str, value: Any, kind: str) -> None:
    if value is None:
        flat.add(key, "")
        return
    if kind == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON does not tell 1.0 from 1, and JSON Schema calls both an integer
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        flat.error(path, kind)
        return
    if kind == "bool":
        flat.add(key, "true" if value else "false")
    else:
        flat.add(key, str(value))


def _kind(name: str) -> str:
    if name in BOOLEAN_FIELDS:
        return "bool"
    if name in INTEGER_FIELDS:
        return "int"
    return "str"


def _entry_id(flat: Flattened, prefix: str, path: str, entry: dict[str, Any]) -> None:
    """The ``id`` of a list entry (an address, a phone number): an integer (1.0 too), or null as if absent."""
    given = entry.get("id")
    if isinstance(given, float) and given.is_integer():
        given = int(given)
    if isinstance(given, int) and not isinstance(given, bool):
        flat.add(f"{prefix}id", str(given))
    elif given is not None:
        flat.error(f"{path}id", "int")


def _address(flat: Flattened, prefix: str, path: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        flat.error(path.rstrip("."), "object")
        return
    _entry_id(flat, prefix, path, value)
    for name in ADDRESS_FORM_FIELDS:
        if name in value:
            _scalar(flat, f"{prefix}{name}", f"{path}{name}", value[name], "str")


def flatten(body: dict[str, Any], version: int) -> Flattened:
    flat = Flattened()
    for name in SCALAR_FIELDS:
        if name in body:
            _scalar(flat, name, name, body[name], _kind(name))
    _phones(flat, body, version)
    _address(flat, "billing_address-", "billing_address.", body.get("billing_address"))
    nested = {key for key, _ in flat.items}
    for name in FLAT_ADDRESS_FIELDS:
        if name in body:
            # Also sent inside billing_address, whose value is kept: this one is checked all the same.
            into = Flattened() if f"billing_address-{name}" in nested else flat
            _scalar(into, f"billing_address-{name}", name, body[name], "str")
            if into is flat:
                flat.aliases[f"billing_address.{name}"] = name
            else:
                into.aliases[f"billing_address-{name}"] = name
                _check_only(flat, into)
    if "shipping_address" in body:
        shipping = body["shipping_address"]
        if shipping is None:
            shipping = []
        if not isinstance(shipping, list):
            flat.error("shipping_address", "list")
        elif len(shipping) > MAX_SHIPPING_ADDRESSES:
            flat.errors.setdefault("shipping_address", []).append(SHIPPING_LIMIT_MESSAGE)
        else:
            flat.add("shipping_address", "")  # marks the list as sent, even when empty
            for index, entry in enumerate(shipping):
                if not isinstance(entry, dict):
                    flat.error(f"shipping_address.{index}", "object")
                    continue
                if entry.get("id") is None:
                    flat.add(f"shipping_address-{index}-id", "")  # an empty entry is still an entry
                _address(flat, f"shipping_address-{index}-", f"shipping_address.{index}.", entry)
    return flat


def _phones(flat: Flattened, body: dict[str, Any], version: int) -> None:
    """Both phone fields, in any version (the reference's field table has ``phone_number`` for every
    version, and its v9 ``phone_numbers`` are the same numbers): ``phone_numbers`` replaces the list,
    ``phone_number`` and ``country_code`` change its first entry (empty: the first number is removed)."""
    if "phone_numbers" in body and "phone_number" in body:
        other = "phone_number" if version <= PHONE_LIST_MAX_VERSION else "phone_numbers"
        flat.errors.setdefault(other, []).append("Send phone_number or phone_numbers, not both.")
        return
    if "phone_numbers" in body:
        if body.get("country_code") not in ("", None):
            flat.errors.setdefault("country_code", []).append("Send the country code inside each phone_numbers entry.")
            return
        _phone_numbers(flat, body["phone_numbers"])
        return
    first = "phone_numbers-0-"
    if "phone_number" in body:
        _scalar(flat, f"{first}national_number", "phone_number", body["phone_number"], "str")
        flat.aliases["phone_numbers.0.national_number"] = "phone_number"
        if body["phone_number"] in ("", None) and "country_code" not in body:
            flat.add(f"{first}country_code", "")  # no number, no country code for it
    if "country_code" in body:
        _scalar(flat, f"{first}country_code", "country_code", body["country_code"], "str")
        flat.aliases["phone_numbers.0.country_code"] = "country_code"


def _phone_numbers(flat: Flattened, value: Any) -> None:
    if value is None:
        value = []
    if not isinstance(value, list):
        flat.error("phone_numbers", "list")
        return
    if len(value) > MAX_PHONE_NUMBERS:
        flat.errors.setdefault("phone_numbers", []).append(PHONE_LIMIT_MESSAGE)
        return
    flat.add("phone_numbers", "")  # marks the list as sent, even when empty
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            flat.error(f"phone_numbers.{index}", "object")
            continue
        prefix = f"phone_numbers-{index}-"
        _entry_id(flat, prefix, f"phone_numbers.{index}.", entry)
        if not any(key in entry for key in ("id", "type", *PHONE_ENTRY_FIELDS)):
            flat.add(f"{prefix}type", "")  # an entry without any field is still an entry (a new number: type normal)
        for source, target in PHONE_ENTRY_FIELDS.items():
            if source not in entry or (source == "county_code" and "country_code" in entry):
                continue
            _scalar(flat, f"{prefix}{target}", f"phone_numbers.{index}.{source}", entry[source], "str")
            if source != target:
                flat.aliases[f"phone_numbers.{index}.{target}"] = f"phone_numbers.{index}.{source}"
        if "county_code" in entry and "country_code" in entry and entry["county_code"] != entry["country_code"]:
            flat.errors.setdefault(f"phone_numbers.{index}.county_code", []).append("Differs from country_code: send one of them.")


def _check_only(flat: Flattened, other: Flattened) -> None:
    """The errors the JSON types and the customer form find in ``other``'s fields, added to ``flat``'s;
    its values are not kept."""
    for path, messages in other.errors.items():
        flat.errors.setdefault(path, []).extend(messages)
    if not other.items:
        return
    form = CustomerForm(other.formdata)
    for name, _ in other.items:
        owner, _, sub = name.rpartition("-")  # billing_address-city: the billing address form's city
        holder: BaseForm = form
        if owner:
            sub_form = form[owner]
            assert isinstance(sub_form, FormField), owner
            holder = sub_form.form
        holder[sub].validate(holder)
        for message in holder[sub].errors:
            flat.errors.setdefault(other.aliases.get(name, name), []).append(message)


def client_paths(errors: dict[str, list[str]], flat: Flattened) -> dict[str, list[str]]:
    """Form errors under the names the client sent, merged with the JSON type errors."""
    merged: dict[str, list[str]] = {k: list(v) for k, v in flat.errors.items()}
    for path, messages in errors.items():
        merged.setdefault(flat.aliases.get(path, path), []).extend(messages)
    return merged


# -- out ------------------------------------------------------------------


def _address_out(address: Address) -> AddressOut:
    return AddressOut(id=address.id, **{name: getattr(address, name) or "" for name in ADDRESS_FIELDS})


def iso_moment(value: datetime, zone: str) -> str:
    """A moment in ISO 8601 with the offset of the account's time zone; where that offset is not whole
    minutes (local mean time, before zones were standardised: Berlin's +00:53:28 until 1893), in UTC,
    the same moment: RFC 3339 and most parsers read offsets in whole minutes only."""
    local = value.astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        local = value.astimezone(dt_timezone.utc)
    return local.isoformat()


def to_json(customer: Customer, version: int, timezone: str) -> CustomerV10 | CustomerV9:
    birthday = iso_moment(customer.birthday, timezone) if customer.birthday else None
    billing = customer.billing_address
    common: dict[str, Any] = dict(
        id=customer.id,
        account_scoped_id=customer.account_scoped_id,
        billing_address=_address_out(billing) if billing else None,
        shipping_address=[_address_out(a) for a in customer.shipping_addresses],
        title=customer.title,
        first_name=customer.first_name,
        last_name=customer.last_name,
        company=customer.company,
        email=customer.email,
        email_marketing_agreed=customer.email_marketing_agreed,
        is_b2b=customer.is_b2b,
        is_favourite=customer.is_favourite,
        is_vip=customer.is_vip,
        is_confirmed=customer.is_confirmed,
        note=customer.note,
        tax_number=customer.tax_number,
        country_code=customer.phones[0].country_code if customer.phones else "",
        channel=customer.channel,
        birthday=birthday,
    )
    if version > PHONE_LIST_MAX_VERSION:
        return CustomerV10(phone_number=customer.phone_number, **common)
    phones = [PhoneNumber(id=p.id, country_code=p.country_code, type=p.type or "normal", national_number=p.national_number) for p in customer.phones]
    return CustomerV9(phone_numbers=phones, **common)
