"""Schemathesis, as its command line runs it, against the app served by uvicorn: every check
(`--checks all`: server errors, statuses, headers, content types and bodies as documented, schema-
valid requests accepted and schema-violating ones refused, authentication not ignored, unsupported
methods) in every phase, stateful sequences included (create, then read, update and delete what
was created). 0 failures means the document says exactly what the server does.

The number of examples is bounded (SCHEMATHESIS_EXAMPLES, default 15 per operation and phase)
so that the run stays quick; raise it for a deeper run. tests/security/schemathesis.toml names
the answers that depend on stored data, which no JSON Schema can state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.security import make_account, make_app
from tests.server import serve

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "15")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture(scope="module")
def server() -> object:
    with serve("fuzz") as base_url:
        yield base_url


def _run(base_url: str, tmp_path: Path, paths: str, *auth: str) -> None:
    done = subprocess.run(
        [
            str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{base_url}/schema/openapi.json",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", EXAMPLES,
            "--seed", "1", "--workers", "1", "--include-path-regex", paths, "--no-color", *auth,
        ],
        cwd=tmp_path,  # its own files (the example database) stay out of the tree
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-2000:]
    assert "Failures:" not in done.stdout and "passed" in done.stdout, done.stdout[-20000:]


def test_the_customers_api_does_exactly_what_its_schema_says(server, tmp_path):
    account = make_account()
    _run(server, tmp_path, "^/api/customers", "--header", f"Authorization: Bearer {account.api_token}")


def test_the_token_endpoint_does_exactly_what_its_schema_says(server, tmp_path):
    app = make_app(make_account().id)
    _run(server, tmp_path, "^/api/auth/", "--auth", f"{app.client_id}:{app.client_secret}")


def test_delete_answers_valid_json(client):
    account = make_account()
    created = client.post("/api/customers/", json={"first_name": "A", "last_name": "B"}, headers=account.bearer).json()
    response = client.delete(f"/api/customers/{created['id']}/", headers=account.bearer)
    assert response.status_code == 200
    if response.headers.get("content-type", "").startswith("application/json"):
        response.json()
