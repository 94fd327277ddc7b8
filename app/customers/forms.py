"""The customer's fields and rules, declared once.

Both faces validate through these forms: the HTML pages bind them to the
posted form, the JSON API flattens the request body into the same field names
(``billing_address-city``, ``shipping_address-0-city``). Every rule, message
and type coercion lives here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from litestar.datastructures import MultiDict
from markupsafe import Markup
from wtforms import Form, ValidationError
from wtforms.fields import (
    Field,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectFieldBase
from wtforms.form import BaseForm
from wtforms.validators import AnyOf, Email, Length, Optional, Regexp
from wtforms.widgets import Select

from app.customers.countries import choices as country_choices
from app.customers.countries import to_alpha2
from app.customers.models import ADDRESS_FIELDS, PHONE_FIELDS, Address, Customer
from app.shared.inputs import Choice, SelectChoice, add_error, plain_text, strip, validated_text, whole_number
from app.web.widgets import (
    CheckboxInput,
    DateInput,
    EmailInput,
    HiddenInput,
    NumberInput,
    OptionsSelect,
    TelInput,
    TextArea,
    TextInput,
    html_params,
)

TITLES = ("", "Mr.", "Mrs.", "Ms.")
TITLE_MESSAGE = 'Must be one of "Mr.", "Mrs.", "Ms." or empty.'
NAME_MESSAGE = "Name or company must be set"
CHANNEL_MESSAGE = "The channel cannot be changed."
MAX_SHIPPING_ADDRESSES = 20
MAX_CHANNEL = 2**31 - 1
SHIPPING_LIMIT_MESSAGE = f"At most {MAX_SHIPPING_ADDRESSES} shipping addresses."

# A field's validators: WTForms calls each with the form and the field.
Validators = Sequence[Callable[[Any, Any], object]]


def _lf(value: object) -> object:
    """Line breaks as LF: a browser posts a textarea's line breaks as CRLF, and its HTML parser
    reads a CR on the page as LF, so only LF comes back as it was sent."""
    return LINE_BREAK.sub("\n", value) if isinstance(value, str) else value


LINE_BREAK = re.compile(r"\r\n?")


def single_line(form: BaseForm, field: Field) -> None:
    """A one-line field holds no line break (nor a tab): a browser's text input drops them, so it could not show or keep one."""
    if isinstance(field.data, str) and LINE_BREAKS.search(field.data):
        raise ValidationError("Must be a single line.")


# What one-line fields refuse besides control characters: every line break str.splitlines() knows
# that is not a control character already (LF, CR, NEL, LINE and PARAGRAPH SEPARATOR), and the tab.
# The OpenAPI document's pattern for them is built from this set (app/customers/openapi.py).
LINE_BREAK_CHARACTERS = "\n\r\t\x85\u2028\u2029"
LINE_BREAKS = re.compile(f"[{LINE_BREAK_CHARACTERS}]")


class TextField(StringField):
    """A trimmed single line that is never None, without control or invisible formatting characters."""

    widget = TextInput()

    def __init__(self, label: str | None = None, validators: Validators | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", "")
        kwargs.setdefault("filters", (strip,))
        super().__init__(label, [plain_text, single_line, *(validators or [])], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is None:
            self.data = ""


class StrictBooleanField(Field):
    """A boolean that refuses anything it cannot read as yes or no.

    An HTML checkbox posts "y" when ticked and nothing when not.
    """

    widget = CheckboxInput()
    TRUE = frozenset({"y", "yes", "on", "true", "1"})
    FALSE = frozenset({"", "n", "no", "off", "false", "0"})

    data: bool

    def __init__(self, label: str | None = None, validators: Validators | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", False)
        super().__init__(label, list(validators or ()), **kwargs)
        self._invalid = False

    def process_data(self, value: object) -> None:
        self.data = bool(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[-1].strip().lower() if valuelist else ""
        self._invalid = raw not in self.TRUE | self.FALSE
        self.data = raw in self.TRUE

    def pre_validate(self, form: BaseForm) -> None:
        if self._invalid:
            raise ValidationError("Must be true or false.")

    def _value(self) -> str:
        return "y"

    @property
    def checked(self) -> bool:
        return bool(self.data)


@lru_cache(maxsize=1)
def _country_choices() -> tuple[SelectChoice, ...]:
    return (SelectChoice("", "—"), *(SelectChoice(code, name) for code, name in country_choices()))


def _option(value: str, label: str, selected: bool) -> Markup:
    """One option as WTForms' own Select renders it."""
    # WTForms 3.3 takes the option as a Choice; the stubs (for 3.2) still declare value, label and selected.
    return Select.render_option(Choice(value, label, selected, {}))  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def _country_options() -> tuple[dict[str, Markup], str]:
    """Every country option rendered once, by WTForms' own Select, unselected."""
    rendered = {c.value: _option(c.value, c.label, False) for c in _country_choices()}
    return rendered, "".join(rendered.values())


class CountrySelect(Select):
    """WTForms' Select for the country list, from options rendered once: rendering
    250 options per address cost more than all the rest of the edit page."""

    def __call__(self, field: SelectFieldBase, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = True
        rendered, options = _country_options()
        current = rendered.get(field.data)
        if current is not None:
            label = next(c.label for c in _country_choices() if c.value == field.data)
            options = options.replace(current, _option(field.data, label, True), 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class CountryField(SelectField):
    """An ISO 3166 alpha-2 code; also accepts an English or German country name."""

    widget = CountrySelect()

    def __init__(self, label: str | None = None, validators: Validators | None = None, **kwargs: Any) -> None:
        super().__init__(label, list(validators or ()), choices=_country_choices(), validate_choice=False, default="", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0].strip() if valuelist else ""
        self.data = (to_alpha2(self.raw) or self.raw) if self.raw else ""

    def pre_validate(self, form: BaseForm) -> None:
        if self.data and to_alpha2(self.data) != self.data:
            raise ValidationError("Unknown country: use an ISO 3166 code such as DE or a country name.")


class BirthdayField(Field):
    """An ISO 8601 date or date-time; a bare date means midnight in the account's time zone.

    The page shows a birthday as its date in the account's time zone. That date, posted
    back, keeps the stored birthday (its time of day included), so that a form saved
    unchanged changes nothing; any other date is midnight of that date. The stored value
    comes in as the field's object data (``CustomerForm.bind``).
    """

    widget = DateInput()
    data: datetime | None

    def __init__(self, label: str | None = None, validators: Validators | None = None, **kwargs: Any) -> None:
        super().__init__(label, list(validators or ()), **kwargs)
        self.raw = ""
        self._invalid = False

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(getattr(self.meta, "timezone", None) or "UTC")

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0].strip() if valuelist else ""
        self._invalid = False
        self.data = None
        if not self.raw:
            return
        text = self.raw[:-1] + "+00:00" if self.raw.endswith(("Z", "z")) else self.raw
        try:
            if len(text) == 10:
                self.data = datetime.combine(date.fromisoformat(text), time(), self._zone()).astimezone(timezone.utc)
            else:
                parsed = datetime.fromisoformat(text)
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=self._zone())
                self.data = parsed.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            self._invalid = True
            return
        if isinstance(self.object_data, datetime) and self.raw == self._shown(self.object_data):
            self.data = self.object_data

    def _shown(self, value: datetime) -> str:
        return value.astimezone(self._zone()).date().isoformat()

    def pre_validate(self, form: BaseForm) -> None:
        if self._invalid:
            raise ValidationError("Not a valid date: use YYYY-MM-DD or ISO 8601 such as 1985-04-30T10:49:52Z.")
        if self.data and self.data > datetime.now(timezone.utc):
            raise ValidationError("The birthday cannot be in the future.")

    def _value(self) -> str:
        if self.raw and self._invalid:
            return self.raw
        if isinstance(self.data, datetime):
            return self._shown(self.data)
        return ""

    def display(self, value: datetime | str) -> str:
        """A stored birthday (or its ISO 8601 text, as the history keeps it) to read: the date in the
        account's time zone, with the time of day when there is one."""
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
            local = moment.astimezone(self._zone()) if moment.tzinfo else moment
        except (TypeError, ValueError, OverflowError):
            return str(value)
        shown = f"{local.day:02}.{local.month:02}.{local.year:04}"
        if local.time() == time():
            return shown
        return f"{shown} {local:%H:%M}" + (f":{local.second:02}" if local.second or local.microsecond else "")


class WholeNumberField(IntegerField):
    """WTForms' IntegerField, reading ASCII digits only: its ``int()`` takes "٥", "+5", " 5" and "5_0"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            self.data = whole_number(valuelist[0])
            if self.data is None:
                raise ValueError(self.gettext("Not a valid integer value."))


def _length(maximum: int) -> Length:
    return Length(max=maximum, message=f"At most {maximum} characters.")


class AddressForm(Form):
    id = HiddenField(filters=(whole_number,), widget=HiddenInput())
    title = TextField("Title", [AnyOf(TITLES, message=TITLE_MESSAGE)], widget=OptionsSelect(TITLES))
    first_name = TextField("First name", [_length(100)])
    last_name = TextField("Last name", [_length(100)])
    company = TextField("Company", [_length(200)])
    address1 = TextField("Street and number", [_length(200)])
    address2 = TextField("Address line 2", [_length(200)])
    zipcode = TextField("Postcode", [_length(20)])
    city = TextField("City", [_length(100)])
    state = TextField("State", [_length(100)])
    country = CountryField("Country")


PHONE = Regexp(r"^[0-9+()\-/. ]*$", message="Use digits, spaces and + - ( ) / . only.")
CALLING_CODE = Regexp(r"^\+?[0-9]*$", message="Digits only, such as 49.")
MAX_PHONE_NUMBERS = 20
PHONE_LIMIT_MESSAGE = f"At most {MAX_PHONE_NUMBERS} phone numbers."
# Where neither the number, its country code nor the billing address tells the country: the reference's shops are German.
DEFAULT_PHONE_REGION = "DE"


class PhoneForm(Form):
    """One phone number, as the reference's v9 entries have it: ``{"country_code": "49", "type": "normal",
    "national_number": "030 12341234"}``, and its ``id`` when it names a stored one (which is then updated in
    place). Checked and completed by ``CustomerForm.validate_phone_numbers``."""

    id = HiddenField(filters=(whole_number,), widget=HiddenInput())
    national_number = TextField("Number", [_length(40), PHONE], widget=TelInput())
    country_code = TextField("Country calling code", [_length(8), CALLING_CODE])
    type = TextField("Type", [_length(20)], default="normal")


def check_phone(entry: PhoneForm, country: str) -> None:
    """The phone number rule: a number the phone-number library (libphonenumber's port) can read and that can exist,
    in the country its calling code names, else the customer's (``country``, alpha-2), else DEFAULT_PHONE_REGION.
    A number written with its country (+49 30 …, 0049 30 …) is kept in national format with that country's
    calling code beside it, as the reference has them; a national one as it was typed, its calling code filled in.
    Possible, not assigned: the library's list of assigned ranges changes, and the reference's own samples
    (7873676) are local numbers it does not call valid."""
    number, code = validated_text(entry.national_number), validated_text(entry.country_code).lstrip("+")
    if not number:
        if code:
            add_error(entry.national_number, "Enter the number for this country code, or leave both empty.")
        return
    if code:
        region = phonenumbers.region_code_for_country_code(int(code))
        if region == phonenumbers.UNKNOWN_REGION:
            add_error(entry.country_code, f"No country has the calling code {code}.")
            return
    else:
        region = country or DEFAULT_PHONE_REGION
    try:
        parsed = phonenumbers.parse(number, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        add_error(entry.national_number, "Not a phone number.")
        return
    if phonenumbers.is_possible_number_with_reason(parsed) != phonenumbers.ValidationResult.IS_POSSIBLE:
        add_error(entry.national_number, "Not a possible phone number: check the number of digits.")
        return
    found = str(parsed.country_code)
    if code and found != code:
        add_error(entry.national_number, f"This number is of country code {found}, not {code}.")
        return
    if parsed.country_code_source != phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY:
        entry.national_number.data = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    entry.country_code.data = found
    entry.type.data = entry.type.data or "normal"


def international(national_number: str, country_code: str) -> str:
    """A stored number as it is dialled from anywhere (030 1234567 and 49: +49 30 1234567), by the same library;
    as stored where it cannot be read so (no country code, or a number stored before the rule)."""
    if not country_code.isdigit():
        return national_number
    try:
        parsed = phonenumbers.parse(national_number, phonenumbers.region_code_for_country_code(int(country_code)))
    except phonenumbers.NumberParseException:
        return national_number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class CustomerForm(Form):
    """Every field of a customer and every rule about it."""

    class Meta:
        timezone = "Europe/Berlin"
        original_channel: int | None = None
        # The ids a shipping entry may name (the customer's shipping addresses'), where the caller's
        # data is not based on an older version that the merge reads (the API's): another is a field error.
        shipping_ids: frozenset[int] | None = None

    title = TextField("Title", [AnyOf(TITLES, message=TITLE_MESSAGE)], widget=OptionsSelect(TITLES))
    first_name = TextField("First name", [_length(100)])
    last_name = TextField("Last name", [_length(100)])
    company = TextField("Company", [_length(200)])
    email = TextField(
        "Email", [Optional(), _length(254), Email(message="Not a valid email address.")], widget=EmailInput(), render_kw={"autocomplete": "off"}
    )
    birthday = BirthdayField("Birthday")
    note = TextAreaField("Note", [plain_text, _length(5000)], default="", filters=(_lf, strip, lambda v: v or ""), widget=TextArea())
    tax_number = TextField("VAT ID", [_length(40)])
    channel = WholeNumberField("Channel", default=1, widget=NumberInput())
    email_marketing_agreed = StrictBooleanField("Agreed to marketing emails")
    is_b2b = StrictBooleanField("B2B")
    is_favourite = StrictBooleanField("Favourite")
    is_vip = StrictBooleanField("VIP")
    is_confirmed = StrictBooleanField("Confirmed")
    billing_address = FormField(AddressForm, "Billing address")
    shipping_address = FieldList(FormField(AddressForm, "Shipping address"), "Shipping addresses")
    phone_numbers = FieldList(FormField(PhoneForm, "Phone number"), "Phone numbers")

    def validate_channel(self, field: WholeNumberField) -> None:
        if field.data is None:
            if not field.process_errors:
                raise ValidationError("Must be a positive whole number.")
            return
        if not 1 <= field.data <= MAX_CHANNEL:
            raise ValidationError("Must be a positive whole number.")
        original = self.meta.original_channel
        if original is not None and field.data != original:
            raise ValidationError(CHANNEL_MESSAGE)

    def validate_shipping_address(self, field: FieldList[FormField[AddressForm]]) -> None:
        if len(field.entries) > MAX_SHIPPING_ADDRESSES:
            raise ValidationError(SHIPPING_LIMIT_MESSAGE)
        known = self.meta.shipping_ids
        if known is None:
            return
        named: set[int] = set()
        for entry in field.entries:
            id_field = entry.form.id
            raw = (id_field.raw_data or [""])[0]
            if raw in ("", None):
                continue
            number: object = id_field.data  # whole_number's, by the field's filter (the stubs say text)
            if not isinstance(number, int) or number not in known:
                add_error(id_field, "Not the id of one of this customer's shipping addresses.")
            elif number in named:
                add_error(id_field, "Names the same address as an entry before it.")
            else:
                named.add(number)

    def validate_phone_numbers(self, field: FieldList[FormField[PhoneForm]]) -> None:
        if len(field.entries) > MAX_PHONE_NUMBERS:
            raise ValidationError(PHONE_LIMIT_MESSAGE)
        country = self.billing_address.form.country.data
        named: set[object] = set()
        for entry in field.entries:
            number: object = entry.form.id.data  # whole_number's, by the field's filter (the stubs say text)
            if isinstance(number, int) and number in named:
                add_error(entry.form.id, "Names the same number as an entry before it.")
            named.add(number)
            if not _has_errors(entry.form):
                check_phone(entry.form, country if to_alpha2(country or "") == country else "")

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        lists: tuple[FormField[PhoneForm] | FormField[AddressForm], ...] = (*self.phone_numbers.entries, *self.shipping_address.entries)
        valid = valid and not any(_has_errors(entry.form) for entry in lists)
        if not self.company.data and not (self.first_name.data and self.last_name.data):
            for field in (self.first_name, self.last_name, self.company):
                add_error(field, NAME_MESSAGE)
            valid = False
        return valid

    # -- helpers shared by both faces -------------------------------------

    @classmethod
    def bind(
        cls,
        formdata: MultiDict[str] | None,
        *,
        timezone: str,
        customer: Customer | None = None,
        replace: Iterable[str] | None = None,
        known_ids_only: bool = False,
    ) -> CustomerForm:
        """Bind posted data; for an existing customer, start from what is stored.

        Only the fields present in ``formdata`` change, except that every field
        named in ``replace`` (or prefixed by it) is taken from ``formdata`` even
        when absent there, as an unticked checkbox is.
        """
        meta: dict[str, Any] = {"timezone": timezone, "original_channel": customer.channel if customer else None}
        if known_ids_only:  # a shipping entry may name only one of the customer's shipping addresses (Meta.shipping_ids)
            meta["shipping_ids"] = frozenset(a.id for a in customer.shipping_addresses) if customer else frozenset()
        formdata = _bounded(formdata)
        if customer is None:
            return cls(formdata or MultiDict(), meta=meta)
        merged = overlay(stored_formdata(customer, timezone), formdata or MultiDict(), replace or ())
        return cls(merged, meta=meta, birthday=customer.birthday)

    def errors_by_path(self) -> dict[str, list[str]]:
        """Every error keyed by its dotted path: ``billing_address.zipcode``."""
        return dict(_walk_errors(self, ""))

    def cleaned(self) -> dict[str, Any]:
        """The form's data; phone entries without a number are left out (an added entry left empty)."""
        data = dict(self.data)
        data.pop("id", None)
        data["phone_numbers"] = [entry for entry in data["phone_numbers"] if entry["national_number"]]
        return data


def _has_errors(form: Form) -> bool:
    """Whether a field of ``form`` has an error now (``Form.errors`` is computed once and kept)."""
    return any(field.errors for field in form)


def _bounded(formdata: MultiDict[str] | None) -> MultiDict[str] | None:
    """At most one shipping address (and phone number) more than allowed reaches the form: enough to
    report the limit, without building thousands of sub-forms first. A key whose index
    is not written in ASCII digits names no field and is dropped: WTForms' FieldList
    reads indices with ``str.isdigit`` and ``int()``, which fails on "²" and reads "٣" as 3."""
    if formdata is None:
        return None
    indices: dict[str, set[str]] = {"shipping_address": set(), "phone_numbers": set()}
    limits = {"shipping_address": MAX_SHIPPING_ADDRESSES, "phone_numbers": MAX_PHONE_NUMBERS}
    items: list[tuple[str, str]] = []
    for key, value in formdata.multi_items():
        name, _, rest = key.partition("-")
        if rest and name in indices:
            index, seen = rest.split("-", 1)[0], indices[name]
            if whole_number(index) is None or (index not in seen and len(seen) > limits[name]):
                continue
            seen.add(index)
        items.append((key, value))
    return MultiDict(items)


def _walk_errors(form: BaseForm, prefix: str) -> Iterator[tuple[str, list[str]]]:
    for name, field in form._fields.items():
        if isinstance(field, FormField):
            yield from _walk_errors(field.form, f"{prefix}{name}.")
        elif isinstance(field, FieldList):
            for index, entry in enumerate(field.entries):
                if isinstance(entry, FormField):
                    yield from _walk_errors(entry.form, f"{prefix}{name}.{index}.")
                elif entry.errors:
                    yield f"{prefix}{name}.{index}", list(entry.errors)
            own = [e for e in field.errors if isinstance(e, str)]
            if own:
                yield f"{prefix}{name}", own
        elif field.errors:
            yield f"{prefix}{name}", list(field.errors)


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "y" if value else ""
    return str(value)


def stored_formdata(customer: Customer, tz: str) -> MultiDict[str]:
    """A customer as the form would have posted it."""
    items: list[tuple[str, str]] = []
    for name in SCALAR_FIELDS:
        value = getattr(customer, name)
        if name == "birthday" and value is not None:
            value = value.isoformat()
        items.append((name, _field_text(value)))
    if customer.billing_address is not None:
        items += _address_items("billing_address-", customer.billing_address)
    for index, address in enumerate(customer.shipping_addresses):
        items += _address_items(f"shipping_address-{index}-", address)
    for index, phone in enumerate(customer.phones):
        items += _phone_items(f"phone_numbers-{index}-", {"id": phone.id, **{name: getattr(phone, name) for name in PHONE_FIELDS}})
    return MultiDict(items)


def formdata_of(data: dict[str, Any]) -> MultiDict[str]:
    """Form data (``CustomerForm.cleaned``'s shape) as the form would post it: an address without an id is a new one."""
    items: list[tuple[str, str]] = []
    for name in SCALAR_FIELDS:
        value = data.get(name)
        items.append((name, _field_text(value.isoformat() if isinstance(value, datetime) else value)))
    billing = data.get("billing_address")
    if billing is not None:
        items += _entry_items("billing_address-", billing)
    for index, entry in enumerate(data.get("shipping_address") or []):
        items += _entry_items(f"shipping_address-{index}-", entry)
    for index, entry in enumerate(data.get("phone_numbers") or []):
        items += _phone_items(f"phone_numbers-{index}-", entry)
    return MultiDict(items)


def _phone_items(prefix: str, entry: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{prefix}id", _field_text(entry.get("id")))] + [(f"{prefix}{name}", entry.get(name) or "") for name in PHONE_FIELDS]


def _entry_items(prefix: str, entry: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{prefix}id", _field_text(entry.get("id")))] + [(f"{prefix}{name}", entry.get(name) or "") for name in ADDRESS_FIELDS]


def _address_items(prefix: str, address: Address) -> list[tuple[str, str]]:
    return [(f"{prefix}id", str(address.id))] + [(f"{prefix}{name}", getattr(address, name) or "") for name in ADDRESS_FIELDS]


def overlay(stored: MultiDict[str], posted: MultiDict[str], replace: Iterable[str]) -> MultiDict[str]:
    """Posted values over stored ones; a posted shipping list replaces the stored one, and so does a
    phone list posted whole (its name posted, as the API's v9 list is); single phone fields
    (``phone_numbers-0-national_number``, the API's v10 number) change that entry only."""
    replace = tuple(replace)
    posted_keys = set(posted.keys())
    posted_shipping = "shipping_address" in replace or any(
        k == "shipping_address" or k.startswith("shipping_address-") for k in posted_keys
    )
    posted_phones = "phone_numbers" in replace or "phone_numbers" in posted_keys

    def dropped(key: str) -> bool:
        if key in posted_keys:
            return True
        if posted_shipping and key.startswith("shipping_address-"):
            return True
        if posted_phones and key.startswith("phone_numbers-"):
            return True
        return any(key == r or key.startswith(f"{r}-") for r in replace)

    items = [(k, v) for k, v in stored.multi_items() if not dropped(k)]
    items += [(k, v) for k, v in posted.multi_items() if k not in ("shipping_address", "phone_numbers")]
    # A form that posts a whole list names each stored entry by its id: an entry without one is new.
    if posted_shipping:
        items = _in_place(stored, items, "shipping_address", by_position="shipping_address" not in replace)
    if posted_phones:  # by id only: a number sent at a position without one is the number sent (its type "normal" if none)
        items = _in_place(stored, items, "phone_numbers", by_position=False)
    return MultiDict(items)


def _entries(items: Iterable[tuple[str, str]], name: str) -> dict[int, dict[str, str]]:
    """The entries of the list ``name`` in form data by their index: ``{0: {"id": "7", "city": "Bremen"}}``."""
    entries: dict[int, dict[str, str]] = {}
    for key, value in items:
        parts = key.split("-", 2)
        index = whole_number(parts[1]) if len(parts) == 3 and parts[0] == name else None
        if index is not None:
            entries.setdefault(index, {})[parts[2]] = value
    return entries


def _in_place(stored: MultiDict[str], items: list[tuple[str, str]], name: str, by_position: bool = True) -> list[tuple[str, str]]:
    """A posted list (shipping addresses, phone numbers) updates the stored entries in place, as the
    billing address is: an entry with the id of a stored one, or else (``by_position``) the stored one
    at its position (if no entry names that one by id), keeps every field the entry does not send, and
    its id. Other entries are new; stored entries no entry takes are removed."""
    kept = [entry for _, entry in sorted(_entries(stored.multi_items(), name).items())]  # stored indices run 0, 1, …
    by_id = {entry["id"]: entry for entry in kept}
    posted = _entries(items, name)
    named = {entry.get("id") for entry in posted.values()}
    taken: set[str] = set()
    added: list[tuple[str, str]] = []
    for position, index in enumerate(sorted(posted)):
        entry = posted[index]
        match = by_id.get(entry.get("id") or "")
        if match is None and by_position and not entry.get("id") and position < len(kept) and kept[position]["id"] not in named:
            match = kept[position]
        if match is None or match["id"] in taken:
            continue
        taken.add(match["id"])
        fill = {field: value for field, value in match.items() if field not in entry}
        if not entry.get("id"):
            items = [(k, v) for k, v in items if k != f"{name}-{index}-id"]
            fill["id"] = match["id"]
        added += [(f"{name}-{index}-{field}", value) for field, value in fill.items()]
    return items + added


SCALAR_FIELDS: tuple[str, ...] = tuple(
    name for name, f in CustomerForm()._fields.items() if not isinstance(f, (FormField, FieldList))
)
BOOLEAN_FIELDS: tuple[str, ...] = tuple(
    name for name, f in CustomerForm()._fields.items() if isinstance(f, StrictBooleanField)
)
INTEGER_FIELDS: tuple[str, ...] = tuple(
    name for name, f in CustomerForm()._fields.items() if isinstance(f, IntegerField)
)
ADDRESS_FORM_FIELDS: tuple[str, ...] = tuple(n for n in AddressForm()._fields if n != "id")

