"""The OpenAPI document the server serves, read once for the tests of tests/api that check against it."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def schema(app) -> dict:
    from litestar.testing import TestClient

    with TestClient(app) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    assert re.match(r"application/(vnd\.oai\.openapi\+)?json", response.headers["content-type"])
    return response.json()
