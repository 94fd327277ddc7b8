"""Customers and their addresses (one billing address, any number of shipping ones)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.base import Base, UTCDateTime, utcnow

BILLING = "billing"
SHIPPING = "shipping"


class Customer(Base):
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

    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="(Address.kind, Address.position)",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("account_id", "account_scoped_id"),
        Index("ix_customers_account_id_id", "account_id", "id"),
        Index("ix_customers_account_id_is_favourite_id", "account_id", "is_favourite", "id"),
        Index("ix_customers_account_id_last_name_first_name_id", "account_id", "last_name", "first_name", "id"),
    )

    @property
    def billing_address(self) -> Address | None:
        return next((a for a in self.addresses if a.kind == BILLING), None)

    @property
    def shipping_addresses(self) -> list[Address]:
        return [a for a in self.addresses if a.kind == SHIPPING]

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.company

    @property
    def city(self) -> str:
        billing = self.billing_address
        return billing.city if billing else ""


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
