"""Customers and their addresses (one billing address, any number of shipping ones)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import (
    Boolean,
    Connection,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    event,
    false,
    insert,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, attributes, mapped_column, relationship

from app.customers import search
from app.database.base import Base, UTCDateTime, utcnow
from app.database.engine import insert_rows

BILLING = "billing"
SHIPPING = "shipping"


# Byte order on PostgreSQL, as on SQLite: lists sort the same on both.
SORT_NAME = String(300).with_variant(String(300, collation="C"), "postgresql")


# A customer's addresses: mapped ones (Customer) or read for showing only (CustomerRecord).
_AddressT = TypeVar("_AddressT", bound="Address | Record")


class CustomerFacts(Generic[_AddressT]):
    """What a customer's fields tell, for the mapped Customer and for a CustomerRecord alike."""

    id: int
    first_name: str
    last_name: str
    company: str
    addresses: Sequence[_AddressT]

    @property
    def billing_address(self) -> _AddressT | None:
        return next((a for a in self.addresses if a.kind == BILLING), None)

    @property
    def shipping_addresses(self) -> list[_AddressT]:
        return [a for a in self.addresses if a.kind == SHIPPING]

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.company


class Record:
    """A row read for showing only, as an object (attributes and ``record[name]``).
    Lists are read into records rather than mapped objects: no identity map, no
    change tracking, a third of the cost."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)

    def __getitem__(self, name: str) -> Any:
        return self.__dict__[name]

    if TYPE_CHECKING:
        # The attributes are the columns read, known only at run time.
        def __getattr__(self, name: str) -> Any: ...


class CustomerRecord(CustomerFacts[Record], Record):
    addresses: list[Record] = []


class Customer(CustomerFacts["Address"], Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    account_scoped_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(10), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # The first phone number's, derived by refresh_derived(): what the list shows and sorts by.
    phone_number: Mapped[str] = mapped_column(String(40), default="")
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
    sort_name: Mapped[str] = mapped_column(SORT_NAME, default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")

    addresses: Mapped[list[Address]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="(Address.kind, Address.position)",
        lazy="select",
    )
    phones: Mapped[list[Phone]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="Phone.position",
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
        self.phone_number = self.phones[0].national_number if self.phones else ""
        phones = " ".join(p.national_number for p in self.phones)
        self.search_text = search.search_text(self.first_name, self.last_name, self.company, self.email, phones, self.city)


class CustomerWord(Base):
    """One word of a customer's search text (``search.index_words``), kept in name order:
    a word's first page in name order and its capped count are one index range."""

    __tablename__ = "customer_words"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(String(300))
    sort_name: Mapped[str] = mapped_column(SORT_NAME)
    customer_id: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        PrimaryKeyConstraint("account_id", "word", "sort_name", "customer_id"),
        {"sqlite_with_rowid": False},
    )


class SearchWord(Base):
    """Every word an account's customers have had (a word no longer used finds nobody):
    where a search looks up the words that contain a search word."""

    __tablename__ = "search_words"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(String(300))

    __table_args__ = (PrimaryKeyConstraint("account_id", "word"), {"sqlite_with_rowid": False})


_ADD_POSTING = insert(CustomerWord)
_ADD_WORD = text("INSERT INTO search_words (account_id, word) VALUES (:account_id, :word) ON CONFLICT DO NOTHING")
_DROP_POSTING = delete(CustomerWord).where(
    CustomerWord.account_id == bindparam("a"),
    CustomerWord.word == bindparam("w"),
    CustomerWord.sort_name == bindparam("n"),
    CustomerWord.customer_id == bindparam("c"),
)


def posting_rows(account_id: int, customer_id: int, sort_name: str, words: Iterable[str]) -> list[dict[str, int | str]]:
    return [{"account_id": account_id, "word": w, "sort_name": sort_name, "customer_id": customer_id} for w in sorted(words)]


def add_postings(connection: Connection, account_id: int, customer_id: int, sort_name: str, words: Collection[str]) -> None:
    if words:
        connection.execute(_ADD_WORD, [{"account_id": account_id, "word": w} for w in sorted(words)])
        connection.execute(_ADD_POSTING, posting_rows(account_id, customer_id, sort_name, words))


def drop_postings(connection: Connection, account_id: int, customer_id: int, sort_name: str, words: Collection[str]) -> None:
    if words:
        connection.execute(_DROP_POSTING, [{"a": account_id, "w": w, "n": sort_name, "c": customer_id} for w in sorted(words)])


# The postings follow every insert, change and delete of a customer in the same flush.
@event.listens_for(Customer, "after_insert")
def _postings_of_new(_mapper: Mapper[Customer], connection: Connection, customer: Customer) -> None:
    add_postings(connection, customer.account_id, customer.id, customer.sort_name, search.index_words(customer.search_text))


@event.listens_for(Customer, "after_update")
def _postings_of_changed(_mapper: Mapper[Customer], connection: Connection, customer: Customer) -> None:
    text_history = attributes.get_history(customer, "search_text")
    name_history = attributes.get_history(customer, "sort_name")
    if not (text_history.has_changes() or name_history.has_changes()):
        return
    old_text = text_history.deleted[0] if text_history.deleted else customer.search_text
    old_name = name_history.deleted[0] if name_history.deleted else customer.sort_name
    old, new = search.index_words(old_text), search.index_words(customer.search_text)
    if old_name != customer.sort_name:
        drop_postings(connection, customer.account_id, customer.id, old_name, old)
        add_postings(connection, customer.account_id, customer.id, customer.sort_name, new)
    else:
        drop_postings(connection, customer.account_id, customer.id, old_name, old - new)
        add_postings(connection, customer.account_id, customer.id, customer.sort_name, new - old)


@event.listens_for(Customer, "after_delete")
def _postings_of_deleted(_mapper: Mapper[Customer], connection: Connection, customer: Customer) -> None:
    drop_postings(connection, customer.account_id, customer.id, customer.sort_name, search.index_words(customer.search_text))


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


# What a customer's postings are made from: (account_id, customer_id, sort_name, search_text).
Posting = tuple[int, int, str, str]


class Phone(Base):
    """One of a customer's phone numbers, in the order the customer's list has them (API v9's
    ``phone_numbers``; v10's ``phone_number`` is the first): the national number as typed, the
    country calling code (49) and the kind of number ("normal")."""

    __tablename__ = "phone_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    national_number: Mapped[str] = mapped_column(String(40), default="")
    country_code: Mapped[str] = mapped_column(String(8), default="")
    type: Mapped[str] = mapped_column(String(20), default="normal")

    customer: Mapped[Customer] = relationship(back_populates="phones")

    __table_args__ = (Index("ix_phone_numbers_customer_id_position", "customer_id", "position"), {"sqlite_autoincrement": True})


PHONE_FIELDS = ("national_number", "country_code", "type")


ADDRESS_FIELDS = ("title", "first_name", "last_name", "company", "address1", "address2", "zipcode", "city", "state", "country")


def fill_postings(connection: Connection, rows: Iterable[Iterable[Posting]]) -> None:
    """Postings and words for many customers at once: ``rows`` yields lists of
    (account_id, customer_id, sort_name, search_text). They are gathered in a
    temporary table and inserted in index order at the end (inserted one by one,
    a million customers' postings land all over the index and rewrite it per batch)."""
    create_staging(connection)
    for batch in rows:
        stage_postings(connection, batch)
    store_staged_postings(connection)


def create_staging(connection: Connection) -> None:
    collate = ' COLLATE "C"' if connection.dialect.name == "postgresql" else ""
    connection.exec_driver_sql("DROP TABLE IF EXISTS temp_customer_words")
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE temp_customer_words "
        f"(account_id INTEGER, word VARCHAR(300), sort_name VARCHAR(300){collate}, customer_id INTEGER)"
    )


def stage_postings(connection: Connection, batch: Iterable[Posting]) -> None:
    tuples = [(a, w, n, c) for a, c, n, t in batch for w in search.index_words(t)]
    insert_rows(connection, "temp_customer_words", ("account_id", "word", "sort_name", "customer_id"), tuples)


def store_staged_postings(connection: Connection) -> None:
    connection.exec_driver_sql(
        "INSERT INTO search_words (account_id, word) SELECT DISTINCT account_id, word FROM temp_customer_words WHERE true "
        "ON CONFLICT DO NOTHING"
    )
    connection.exec_driver_sql(
        "INSERT INTO customer_words (account_id, word, sort_name, customer_id) "
        "SELECT account_id, word, sort_name, customer_id FROM temp_customer_words ORDER BY account_id, word, sort_name, customer_id"
    )
    connection.exec_driver_sql("DROP TABLE temp_customer_words")
