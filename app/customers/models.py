"""Customers and their addresses (one billing address, any number of shipping ones)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.base import Base, UTCDateTime, utcnow
from app.customers import search

BILLING = "billing"
SHIPPING = "shipping"


class CustomerFacts:
    """What a customer's fields tell, for the mapped Customer and for a CustomerRecord alike."""

    id: int
    first_name: str
    last_name: str
    company: str
    addresses: list

    @property
    def billing_address(self):
        return next((a for a in self.addresses if a.kind == BILLING), None)

    @property
    def shipping_addresses(self) -> list:
        return [a for a in self.addresses if a.kind == SHIPPING]

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.company


class Record:
    """A row read for showing only, as an object (attributes and ``record[name]``).
    Lists are read into records rather than mapped objects: no identity map, no
    change tracking, a third of the cost."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)

    def __getitem__(self, name: str):
        return self.__dict__[name]


class CustomerRecord(CustomerFacts, Record):
    addresses: list[Record] = []


class Customer(CustomerFacts, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    account_scoped_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(10), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone_number: Mapped[str] = mapped_column(String(40), default="")
    phone_type: Mapped[str] = mapped_column(String(20), default="normal")
    country_code: Mapped[str] = mapped_column(String(8), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    tax_number: Mapped[str] = mapped_column(String(40), default="")
    channel: Mapped[int] = mapped_column(Integer, default=1)
    birthday: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    email_marketing_agreed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_b2b: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_favourite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_confirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Derived by refresh_derived(): what search, sorting and the list read.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    sort_name: Mapped[str] = mapped_column(
        String(300).with_variant(String(300, collation="C"), "postgresql"), default="", server_default=""
    )
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")

    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="(Address.kind, Address.position)",
        lazy="select",
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("account_id", "account_scoped_id"),
        Index("ix_customers_account_id_id", "account_id", "id"),
        Index("ix_customers_account_id_sort_name_id", "account_id", "sort_name", "id"),
        Index("ix_customers_account_id_company_id", "account_id", "company", "id"),
        Index("ix_customers_account_id_email_id", "account_id", "email", "id"),
        Index("ix_customers_account_id_phone_number_id", "account_id", "phone_number", "id"),
        Index("ix_customers_account_id_city_id", "account_id", "city", "id"),
        Index("ix_customers_account_id_is_favourite_sort_name_id", "account_id", "is_favourite", "sort_name", "id"),
        {"sqlite_autoincrement": True},
    )

    def refresh_derived(self) -> None:
        """Recompute the search text, the sort name and the city from the fields."""
        billing = self.billing_address
        self.city = billing.city if billing else ""
        self.sort_name = search.sort_name(self.first_name, self.last_name, self.company)
        self.search_text = search.search_text(self.first_name, self.last_name, self.company, self.email, self.phone_number, self.city)


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(10), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    address1: Mapped[str] = mapped_column(String(200), default="")
    address2: Mapped[str] = mapped_column(String(200), default="")
    zipcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")

    customer: Mapped[Customer] = relationship(back_populates="addresses")

    __table_args__ = (
        Index("ix_addresses_customer_id_kind_position", "customer_id", "kind", "position"),
        Index("ix_addresses_account_id_city", "account_id", "city"),
    )


ADDRESS_FIELDS = ("title", "first_name", "last_name", "company", "address1", "address2", "zipcode", "city", "state", "country")
