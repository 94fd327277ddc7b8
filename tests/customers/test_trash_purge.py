"""`clientele trash purge` removes for good only what is past the retention."""

from __future__ import annotations

from datetime import timedelta

from litestar.datastructures import MultiDict
from sqlalchemy import select, update

from app.customers import service, trash
from app.customers.forms import CustomerForm
from app.customers.trash import TrashedCustomer
from app.database.base import utcnow
from app.database.engine import session_scope


def _trashed_customer(account_id: int, name: str) -> int:
    form = CustomerForm.bind(MultiDict({"company": name}), timezone="Europe/Berlin")
    assert form.validate()
    with session_scope() as session:
        customer = service.create(session, account_id, form.cleaned())
        assert service.delete(session, account_id, customer.id)
        return customer.id


def test_purge_removes_only_what_is_older_than_the_retention(shop):
    old = _trashed_customer(shop.id, "Old GmbH")
    recent = _trashed_customer(shop.id, "Recent GmbH")
    with session_scope() as session:
        session.execute(
            update(TrashedCustomer)
            .where(TrashedCustomer.customer_id == old)
            .values(deleted_at=utcnow() - timedelta(days=trash.RETENTION_DAYS, minutes=1))
        )
        session.commit()
        trash.purge(session)
        left = set(session.scalars(select(TrashedCustomer.customer_id).where(TrashedCustomer.account_id == shop.id)))
    assert left == {recent}


def test_a_purged_customer_can_no_longer_be_restored(shop):
    gone = _trashed_customer(shop.id, "Gone GmbH")
    with session_scope() as session:
        trash.purge(session, older_than_days=0)
        assert service.restore(session, shop.id, gone) is None


def test_a_restored_customer_comes_back_with_its_id_number_and_fields(shop):
    form = CustomerForm.bind(
        MultiDict({"first_name": "Rita", "last_name": "Rück", "is_favourite": "y", "billing_address-city": "Köln"}),
        timezone="Europe/Berlin",
    )
    assert form.validate()
    with session_scope() as session:
        customer = service.create(session, shop.id, form.cleaned())
        number, favourites = customer.account_scoped_id, service.count(session, shop.id, service.Query(favourites=True)).value
        service.delete(session, shop.id, customer.id)
        assert service.get(session, shop.id, customer.id) is None
        assert service.count(session, shop.id, service.Query(favourites=True)).value == favourites - 1
        back = service.restore(session, shop.id, customer.id)
        assert (back.id, back.account_scoped_id, back.last_name, back.city, back.is_favourite) == (customer.id, number, "Rück", "Köln", True)
        assert service.count(session, shop.id, service.Query(favourites=True)).value == favourites
        assert [p.id for p in service.page(session, shop.id, service.Query(search="rück")).items] == [customer.id]
