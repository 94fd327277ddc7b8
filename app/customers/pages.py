"""The customers screen of the back office: a description of the resource
and the store that connects the generic views to the form and the service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from litestar.datastructures import MultiDict
from sqlalchemy.orm import Session

from app.admin.resource import (
    Bulk,
    BulkAction,
    Column,
    Conflict,
    Done,
    ExportField,
    Filter,
    ListQuery,
    Resource,
    Saved,
    Section,
    Trash,
)
from app.customers import history, service, trash
from app.customers.forms import AddressForm, CustomerForm, formdata_of, international
from app.customers.models import ADDRESS_FIELDS, Customer, CustomerRecord
from app.database.base import utcnow
from app.shared.audit import Actor
from app.shared.paging import Page

# The first phone number's field, by the name the form gives it: what the list row shows and edits.
FIRST_PHONE = "phone_numbers-0-national_number"


def _query(query: ListQuery) -> service.Query:
    return service.Query(
        search=query.search,
        favourites="favourites" in query.filters,
        sort=query.sort or "name",
        descending=query.descending,
    )


class CustomerStore:
    def listing(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page:
        return service.page(session, actor.account_id, _query(query), page, per_page)

    def stream(self, session: Session, actor: Actor, query: ListQuery) -> Iterator[CustomerRecord]:
        return service.stream(session, actor.account_id, _query(query))

    def get(self, session: Session, actor: Actor, item_id: int) -> Customer | None:
        return service.get(session, actor.account_id, item_id)

    def get_for_update(self, session: Session, actor: Actor, item_id: int) -> Customer | None:
        return service.get_for_update(session, actor.account_id, item_id)

    def bind(self, formdata: MultiDict[str] | None, actor: Actor, item: Customer | None = None, replace: Iterable[str] = ()) -> CustomerForm:
        return CustomerForm.bind(formdata, timezone=actor.timezone, customer=item, replace=replace)

    def create(self, session: Session, actor: Actor, form: CustomerForm) -> Customer:
        return service.create(session, actor.account_id, form.cleaned(), actor.who)

    def update(self, session: Session, actor: Actor, item: Customer, form: CustomerForm, expected_version: int | None = None) -> Customer | Saved[Customer]:
        if expected_version is None:
            return service.update_customer(session, item, form.cleaned(), actor.who)
        try:
            customer, merged = service.update_merged(session, item, form.cleaned(), actor.who, expected_version)
        except service.VersionConflict as exc:
            last = history.last_event(session, actor.account_id, item.id)
            session.rollback()
            found = exc.merge
            raise Conflict(
                exc.customer, last.actor_label if last else "", last.at if last else None,
                fields=found.conflicts if found else {},
                formdata=formdata_of(found.data) if found else None,
                theirs=formdata_of(found.theirs) if found else None,
            ) from None
        return Saved(customer, merged.kept, merged.who) if merged else customer

    def delete(self, session: Session, actor: Actor, item_id: int) -> bool:
        return service.delete(session, actor.account_id, item_id, actor.who)

    def toggle(self, session: Session, actor: Actor, item_id: int, name: str, value: bool) -> Customer | None:
        if name != "is_favourite":
            return None
        return service.set_favourite(session, actor.account_id, item_id, value, actor.who)

    def bulk(self, session: Session, actor: Actor, action: str, ids: list[int] | None, query: ListQuery) -> Done:
        if ids is None:
            ids = service.matching_ids(session, actor.account_id, _query(query))
        at = utcnow()
        changed = service.bulk(session, actor.account_id, ids, action, actor.who, at)
        # A delete is undone by its time: every customer it moved to the trash carries it.
        return Done(changed, at.isoformat() if action == "delete" and changed else None)

    def undo(self, session: Session, actor: Actor, token: str) -> int | None:
        """Undo a bulk delete (``token`` from ``bulk``); None for a token that is not one."""
        try:
            at = datetime.fromisoformat(token)
        except ValueError:
            return None
        if at.tzinfo is None:
            return None
        return service.restore_deleted_together(session, actor.account_id, at, actor.who)

    def count_selection(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int:
        if ids is None:
            return len(service.matching_ids(session, actor.account_id, _query(query)))
        return len(ids)

    def trash_page(self, session: Session, actor: Actor, query: ListQuery, page: int, per_page: int) -> Page:
        return trash.page(session, actor.account_id, query.search, query.sort, query.descending, page, per_page)

    def trash_count(self, session: Session, actor: Actor) -> int:
        return trash.count(session, actor.account_id)

    def restore_many(self, session: Session, actor: Actor, ids: list[int] | None, query: ListQuery) -> int:
        """Restore the given customers, or (``ids`` None) every one in the trash that the search finds."""
        if ids is None:
            ids = trash.matching_ids(session, actor.account_id, query.search, service.BULK_LIMIT)
        return service.restore_many(session, actor.account_id, ids, actor.who)

    def export(self, session: Session, actor: Actor, query: ListQuery) -> tuple[list[ExportField], Iterator[Any]]:
        """Every field of every matching customer, addresses included (a group of columns for each
        shipping address, as many as the account's customer with the most has)."""
        shipping = service.most_shipping_addresses(session, actor.account_id)
        return export_fields(actor.timezone, shipping), service.stream_with_addresses(session, actor.account_id, _query(query))

    def restore(self, session: Session, actor: Actor, item_id: int) -> Customer | None:
        return service.restore(session, actor.account_id, item_id, actor.who)

    def history(self, session: Session, actor: Actor, item_id: int) -> list[history.CustomerEvent]:
        return history.events(session, actor.account_id, item_id)


def export_fields(timezone: str, shipping: int) -> list[ExportField]:
    """The columns of a customers export, labelled as the edit form labels the fields."""
    form = CustomerForm(meta={"timezone": timezone})
    zone = ZoneInfo(timezone)

    def birthday(item: Any) -> Any:
        # Stored as midnight in the account's time zone (see BirthdayField): shown as that date.
        value = item.birthday
        return value.astimezone(zone).date() if isinstance(value, datetime) else None

    fields = [ExportField("ID", lambda c: c.id), ExportField("Number", lambda c: c.account_scoped_id)]
    for name in history.SCALARS:
        fields.append(ExportField(str(form[name].label.text), birthday if name == "birthday" else attrgetter(name)))
    fields.append(ExportField(str(form.phone_numbers.label.text), _phones))
    fields += [ExportField("Created", lambda c: c.created_at), ExportField("Changed", lambda c: c.updated_at)]
    labels = {name: str(AddressForm()[name].label.text) for name in ADDRESS_FIELDS}

    def address_field(prefix: str, name: str, pick: Callable[[Any], Any]) -> ExportField:
        def value(c: Any) -> str:
            address = pick(c)
            return getattr(address, name) if address is not None else ""

        return ExportField(f"{prefix}: {labels[name]}", value)

    fields += [address_field("Billing address", name, lambda c: c.billing_address) for name in ADDRESS_FIELDS]
    for index in range(shipping):

        def pick(c: Any, index: int = index) -> Any:
            addresses = c.shipping_addresses
            return addresses[index] if index < len(addresses) else None

        fields += [address_field(f"Shipping address {index + 1}", name, pick) for name in ADDRESS_FIELDS]
    return fields


STORE = CustomerStore()


def _phones(customer: Any) -> str:
    """Every number of a customer in one cell, each as dialled from anywhere: +49 30 12341234; +49 171 1234567."""
    return "; ".join(international(p.national_number, p.country_code) for p in customer.phones)


CUSTOMERS = Resource(
    name="customers",
    singular="customer",
    plural="Customers",
    columns=(
        Column("display_name", "Name", sort="name", kind="title"),
        Column("company", "Company", sort="company"),
        Column("email", "Email", sort="email", kind="email"),
        Column("phone_number", "Phone", sort="phone", kind="phone"),
        Column("city", "City", sort="city"),
        Column("is_favourite", "Favourite", kind="toggle", printed=False),
        Column("badges", "Tags", kind="badges", badges=(("is_vip", "VIP"), ("is_b2b", "B2B"))),
    ),
    search_label="Search name, company, email, phone or city",
    filters=(Filter("favourites", "Favourites"),),
    sections=(
        Section("Person", ("title", "first_name", "last_name", "company", "birthday")),
        Section("Contact", ("email", "email_marketing_agreed")),
        Section("Phone numbers", ("phone_numbers",)),
        Section("Status", ("is_favourite", "is_vip", "is_b2b", "is_confirmed", "tax_number", "channel")),
        Section("Note", ("note",)),
        Section("Billing address", ("billing_address",)),
        Section("Shipping addresses", ("shipping_address",)),
    ),
    # The row edits the first phone number (the one it shows); the customer's other numbers stay as they are.
    inline_fields=("first_name", "last_name", "company", "email", FIRST_PHONE, "is_favourite", "is_vip", "is_b2b"),
    inline_labels={FIRST_PHONE: "Phone"},
    store=STORE,
    describe=lambda c: c.display_name or f"Customer #{c.account_scoped_id}",
    default_sort="name",
    empty_hint="Add your first customer with “New customer”.",
    facts=(
        Column("account_scoped_id", "Number"),
        Column("created_at", "Created", kind="datetime"),
        Column("updated_at", "Last changed", kind="datetime"),
    ),
    bulk=Bulk(
        STORE,
        (
            BulkAction("favourite", "Favourite", "Marked as favourite:", "They will be marked as favourites."),
            BulkAction("unfavourite", "Unfavourite", "No longer favourite:", "They will no longer be favourites."),
            BulkAction("delete", "Delete", "Deleted"),
        ),
    ),
    trash=Trash(STORE, trash.RETENTION_DAYS),
    history=STORE,
    export=STORE,
    version=attrgetter("version"),
)
