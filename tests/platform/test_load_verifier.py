"""The check behind `make load` and `make crash` finds what it is there to find.

tests.platform.load.verifier.verify compares a log of acknowledged writes with the database. A
check that never fails proves nothing, so here each kind of loss is staged in
the test database, written by the app's own service, and must be reported.
"""

from __future__ import annotations

from sqlalchemy import update

from tests.conftest import make_shop
from tests.platform.load.log import Log, Write
from tests.platform.load.verifier import verify


def _create(account_id: int, **fields) -> int:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        return service.create(session, account_id, {"first_name": "Fn1", "last_name": "Ln1", **fields}).id


def _update(account_id: int, customer_id: int, **fields) -> int:
    from app.customers import service
    from app.database.engine import session_scope

    if "city" in fields:  # the API's flat "city" is the billing address's
        fields["billing_address"] = {"city": fields.pop("city")}
    with session_scope() as session:
        customer = service.get_for_update(session, account_id, customer_id)
        return service.update_customer(session, customer, fields).version


def _delete(account_id: int, customer_id: int) -> None:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        assert service.delete(session, account_id, customer_id)


def _log(*writes: Write) -> Log:
    log = Log()
    for write in writes:
        log.write(write)
    return log


def _created(customer_id: int) -> Write:
    return Write("create", "api", customer_id, {"first_name": "Fn1", "last_name": "Ln1"}, {"first_name": "Fn1", "last_name": "Ln1"}, version=1)


def _updated(customer_id: int, version: int, status: str = "acked", **fields) -> Write:
    return Write("update", "api", customer_id, dict(fields), {k: v for k, v in fields.items() if isinstance(v, str)}, status, version)


def test_a_faithful_log_verifies_clean(database):
    shop = make_shop()
    customer_id = _create(shop.id)
    version = _update(shop.id, customer_id, company="Co1", city="City1")
    other = _create(shop.id, company="Co9")
    _delete(shop.id, other)

    verdict = verify(
        _log(_created(customer_id), _updated(customer_id, version, company="Co1", city="City1"), _created(other), Write("delete", "api", other)),
        database,
        shop.id,
    )

    assert verdict.problems == [] and not verdict.lost and verdict.refused_applied == 0


def test_an_acknowledged_update_missing_is_lost(database):
    shop = make_shop()
    customer_id = _create(shop.id)
    version = _update(shop.id, customer_id, company="Co1")
    log = _log(_created(customer_id), _updated(customer_id, version, company="Co1"), _updated(customer_id, version + 1, note="note 2"))

    verdict = verify(log, database, shop.id)

    assert verdict.lost == {2}
    assert any("note" in p for p in verdict.problems)


def test_two_acknowledgements_of_one_version_are_a_lost_update(database):
    shop = make_shop()
    customer_id = _create(shop.id)
    version = _update(shop.id, customer_id, company="Co1", note="note 1")
    # Both writers were told they made the same version: one overwrote the other unseen.
    log = _log(_created(customer_id), _updated(customer_id, version, company="Co1"), _updated(customer_id, version, note="note 1"))

    verdict = verify(log, database, shop.id)

    assert verdict.lost == {1, 2}


def test_an_acknowledged_create_found_nowhere_is_lost(database):
    shop = make_shop()
    kept = _create(shop.id)

    verdict = verify(_log(_created(kept), _created(2_000_000_000)), database, shop.id)

    assert verdict.lost == {1}


def test_an_acknowledged_delete_still_there_is_reported(database):
    shop = make_shop()
    customer_id = _create(shop.id)

    verdict = verify(_log(_created(customer_id), Write("delete", "api", customer_id)), database, shop.id)

    assert verdict.lost == {1}
    assert any("still in customers" in p for p in verdict.problems)


def test_a_refused_write_that_was_applied_is_reported(database):
    shop = make_shop()
    customer_id = _create(shop.id)
    version = _update(shop.id, customer_id, company="Co7")
    log = _log(_created(customer_id), _updated(customer_id, 0, status="refused", company="Co7"))

    verdict = verify(log, database, shop.id)

    assert verdict.refused_applied == 1
    assert version == 2


def test_a_later_unanswered_write_explains_a_value(database):
    shop = make_shop()
    customer_id = _create(shop.id)
    first = _update(shop.id, customer_id, company="Co1")
    _update(shop.id, customer_id, company="Co2")  # its answer never arrived (server killed)
    log = _log(_created(customer_id), _updated(customer_id, first, company="Co1"), _updated(customer_id, 0, status="unacked", company="Co2"))

    verdict = verify(log, database, shop.id)

    assert verdict.problems == [] and not verdict.lost


def test_counters_that_drifted_are_reported(database):
    from app.accounts.models import Account
    from app.database.engine import session_scope

    shop = make_shop()
    customer_id = _create(shop.id)
    with session_scope() as session:
        session.execute(update(Account).where(Account.id == shop.id).values(customer_count=Account.customer_count + 1))

    verdict = verify(_log(_created(customer_id)), database, shop.id)

    assert any(p.startswith("customer_count counter: WRONG") for p in verdict.problems)


def test_a_refused_value_in_the_row_without_history_is_reported(database):
    from app.customers.models import Customer
    from app.database.engine import session_scope

    shop = make_shop()
    customer_id = _create(shop.id)
    with session_scope() as session:  # written behind the history's back
        session.execute(update(Customer).where(Customer.id == customer_id).values(tax_number="DE000000042"))
    log = _log(_created(customer_id), _updated(customer_id, 0, status="refused", tax_number="DE000000042"))

    verdict = verify(log, database, shop.id)

    assert verdict.refused_applied == 1
