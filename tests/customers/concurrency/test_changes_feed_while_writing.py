"""The changes feed read while other clients write: a reader polling from its cursor never
skips a change that commits after it read a later one, and ends with the account's customers.

The server has two worker processes, so writes really commit concurrently (in parallel
transactions on PostgreSQL); the replica checks that the changes it reads are numbered
one after the other (tests/changes.py)."""

from __future__ import annotations

import random
import threading

from tests.changes import Replica, all_customers

WRITERS = 6
WRITES_EACH = 40


def _changes_made(account_id: int) -> int:
    from sqlalchemy import func, select

    from app.customers.history import CustomerEvent
    from app.database.engine import session_scope

    with session_scope() as session:
        return session.scalar(select(func.count()).where(CustomerEvent.account_id == account_id)) or 0


def test_a_polling_reader_ends_with_exactly_the_accounts_customers(api_client, live_shop):
    done = threading.Event()
    errors: list[BaseException] = []
    replica = Replica()
    polls = [0]

    def read() -> None:
        client = api_client(live_shop)
        try:
            while not done.is_set():
                replica.poll(client, limit=7)
                polls[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    def write(seed: int) -> None:
        rng = random.Random(seed)
        client = api_client(live_shop)
        mine: list[int] = []
        try:
            for step in range(WRITES_EACH):
                action = rng.random()
                if not mine or action < 0.4:
                    response = client.post("/api/customers/", json={"company": f"W{seed}-{step}", "billing_address": {"city": "Berlin"}})
                    assert response.status_code == 201, response.text
                    mine.append(response.json()["id"])
                elif action < 0.85:
                    body = rng.choice([{"note": f"n{step}"}, {"is_favourite": rng.random() < 0.5}, {"shipping_address": [{"city": f"c{step}"}]}])
                    response = client.put(f"/api/customers/{rng.choice(mine)}/", json=body)
                    assert response.status_code == 200, response.text
                else:
                    victim = mine.pop(rng.randrange(len(mine)))
                    assert client.delete(f"/api/customers/{victim}/").status_code == 200
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(WRITERS)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert not errors, errors

    client = api_client(live_shop)
    replica.poll(client)  # what committed after its last poll

    assert polls[0] > 1  # it did read while the others wrote
    assert replica.customers == all_customers(client)
    assert replica.seen == list(range(1, _changes_made(live_shop.id) + 1))  # every change, once, in order

    # A second client walking the whole feed afterwards agrees.
    fresh = Replica()
    fresh.poll(client, limit=100)
    assert fresh.customers == replica.customers
