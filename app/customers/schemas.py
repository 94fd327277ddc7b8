"""The JSON shapes of the Customers API responses (Inventorum-compatible)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar.params import KwargDefinition


@dataclass
class AddressOut:
    id: int
    title: str
    first_name: str
    last_name: str
    company: str
    address1: str
    address2: str
    zipcode: str
    city: str
    state: str
    country: str


@dataclass
class PhoneNumber:
    """A v9 phone number entry."""

    id: int
    country_code: str
    type: str
    national_number: str


@dataclass(kw_only=True)
class CustomerBase:
    id: int
    account_scoped_id: int
    billing_address: AddressOut | None
    shipping_address: list[AddressOut]
    title: str
    first_name: str
    middle_name: None = None
    last_name: str
    company: str
    email: str
    email_marketing_agreed: bool
    is_b2b: bool
    is_favourite: bool
    is_vip: bool
    is_confirmed: bool
    note: str
    group: None = None
    customer_note: None = None
    tax_number: str
    country_code: str
    channel: int
    birthday: Annotated[
        str | None,
        KwargDefinition(
            description="ISO 8601 date and time with the offset of the account's time zone (1985-04-30T00:00:00+02:00); "
            "where that offset is not whole minutes (local mean time, before about 1893), in UTC: 1890-05-31T23:06:32+00:00"
        ),
    ]
    total_sales: str = "0"


@dataclass(kw_only=True)
class CustomerV10(CustomerBase):
    """A customer as API version 10 and later show it."""

    phone_number: str


@dataclass(kw_only=True)
class CustomerV9(CustomerBase):
    """A customer as API version 9 and earlier show it."""

    phone_numbers: list[PhoneNumber]


@dataclass
class CustomerList:
    total: int
    data: list[CustomerV10 | CustomerV9]


@dataclass
class Change:
    """One change to a customer, in the changes feed (and the body of a webhook)."""

    id: Annotated[int, KwargDefinition(description="The change's number in the account: send it as `after` to read the changes after it.")]
    type: Annotated[
        Literal["created", "updated", "deleted", "restored"],
        KwargDefinition(description="`restored`: brought back from the trash, as it was deleted (with its id)."),
    ]
    customer_id: int
    at: Annotated[str, KwargDefinition(description="When it was made: ISO 8601 with the offset of the account's time zone.")]
    changed: Annotated[
        list[str],
        KwargDefinition(description="The fields it changed (those it set, for `created`), named as this API version shows them; "
        "an address field names its address (`billing_address`, `shipping_address`)."),
    ]
    customer: Annotated[
        CustomerV10 | CustomerV9 | None,
        KwargDefinition(description="The customer as it is when the change is read (not as of the change); null once it is deleted."),
    ]


@dataclass
class ChangeList:
    data: list[Change]
    cursor: Annotated[
        int,
        KwargDefinition(description="The number of the last change in `data` (else the `after` sent): the `after` to read the next changes with."),
    ]
