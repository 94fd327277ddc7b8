"""A client of the changes feed, as an integration writes one: it keeps a copy of the
account's customers by applying the changes in order, and polls from its cursor."""

from __future__ import annotations

from typing import Any

import httpx


class Replica:
    def __init__(self) -> None:
        self.customers: dict[int, dict[str, Any]] = {}
        self.cursor = 0
        self.seen: list[int] = []  # the changes' ids, in the order read

    def apply(self, change: dict[str, Any]) -> None:
        # Numbered one after the other: a change read out of turn, or skipped, shows here.
        assert change["id"] == self.cursor + 1, (self.cursor, change)
        self.cursor = change["id"]
        self.seen.append(change["id"])
        if change["customer"] is None:
            self.customers.pop(change["customer_id"], None)
        else:
            self.customers[change["customer_id"]] = change["customer"]

    def poll(self, client: httpx.Client, limit: int = 50, headers: dict[str, str] | None = None) -> int:
        """Read every page from the cursor on, following Link rel=next; the changes read."""
        read = 0
        url: str | None = f"/api/customers/changes/?after={self.cursor}&limit={limit}"
        while url:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            for change in body["data"]:
                self.apply(change)
            read += len(body["data"])
            assert body["cursor"] == self.cursor
            following = response.headers.get("link")
            assert (following is not None) == (len(body["data"]) == limit)
            url = following[1 : following.index(">")] if following else None
        return read


def all_customers(client: httpx.Client, headers: dict[str, str] | None = None) -> dict[int, dict[str, Any]]:
    """The account's customers, read with the list's keyset pages."""
    found: dict[int, dict[str, Any]] = {}
    after = 0
    while True:
        response = client.get(f"/api/customers/?after={after}&limit=30", headers=headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        found.update({c["id"]: c for c in data})
        if not response.headers.get("link"):
            return found
        after = data[-1]["id"]
