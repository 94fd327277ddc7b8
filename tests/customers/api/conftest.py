"""The Customers API as integrations use it (docs/api.md).

Every test works in accounts of its own (the ``shop`` / ``other_shop`` fixtures
or ``make_shop``), so tests never see each other's customers. Bulk data is
written through the service layer, not through the API, so that no test fires
many requests with one token."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    """Functional tests may send more than 20 requests a second with one token;
    the limit itself has a test of its own, which turns it back on."""
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "0")
