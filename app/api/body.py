"""The JSON request body of the API, read and decoded with our own error envelope."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from app.accounts.tokens import Principal
from app.api.errors import ApiError


async def provide_json_body(request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> dict[str, Any]:
    """The body as a JSON object; every other body is a 400 in the envelope.

    It depends on the principal so that a caller without valid credentials
    hears 401 before anything about its body."""
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "common.invalid_body", "The request body is empty: send a JSON object.")
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "common.malformed_json", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "common.invalid_body", "The request body must be a JSON object.")
    return data
