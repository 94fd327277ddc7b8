"""Schemathesis against /schema/openapi.json: generated valid and invalid requests
to every API operation find no 5xx and no response that breaks the schema.

The number of examples is bounded (SCHEMATHESIS_EXAMPLES, default 15 per
operation and mode) so that the wall stays quick; raise it for a deeper run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.security.conftest import make_account, make_app

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))


def _describe_filters_without_failing() -> None:
    """Hypothesis names each filtered strategy by parsing the source of its lambda,
    at times the whole file it sits in. On this Python (3.11.7), ``ast.parse`` of a
    large file can raise ``SystemError: AST constructor recursion depth mismatch``
    (an error while converting a deep tree), which once failed this module's
    collection. The name only labels the strategy; fall back to a plain one."""
    from hypothesis.strategies._internal import lazy

    describe = lazy.get_pretty_function_description

    def tolerant(fn) -> str:
        try:
            return describe(fn)
        except (SystemError, RecursionError):
            return getattr(fn, "__name__", "<function>")

    lazy.get_pretty_function_description = tolerant


_describe_filters_without_failing()
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def credentials():
    account = make_account()
    app = make_app(account.id)
    return {"bearer": account.bearer, "basic": app.basic}


def _app():
    from app.main import (
        create_app,  # tests/conftest.py has pointed it at the test database
    )

    return create_app()


schema = schemathesis.openapi.from_asgi("/schema/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_answers_generated_requests_within_its_schema(case, credentials):
    headers = credentials["basic"] if case.path.startswith("/api/auth/token") else credentials["bearer"]
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_delete_answers_valid_json(client):
    account = make_account()
    created = client.post("/api/customers/", json={"first_name": "A", "last_name": "B"}, headers=account.bearer).json()
    response = client.delete(f"/api/customers/{created['id']}/", headers=account.bearer)
    assert response.status_code == 200
    if response.headers.get("content-type", "").startswith("application/json"):
        response.json()
