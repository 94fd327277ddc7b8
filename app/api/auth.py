"""Who is calling the API, with which scopes, speaking which version."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from app.accounts import tokens
from app.accounts.tokens import Principal
from app.api.errors import SERVER_ERROR_RESPONSE, UNAVAILABLE_RESPONSE, ApiError, error_response
from app.api.versions import CURRENT_VERSION, MIN_VERSION
from app.database import write_slots
from app.database.async_reads import PoolReads, SyncReads
from app.integrations import service as oauth
from app.shared import ratelimit
from app.shared.inputs import whole_number


def _unauthenticated() -> ApiError:
    return ApiError(
        401,
        "auth.not_authenticated",
        "Authentication credentials were not provided or are not valid.",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "common.rate_limited",
        f"Too many requests: at most {ratelimit.limit_per_second()} a second. Retry after {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


async def authenticate(reads: SyncReads | PoolReads, raw: str) -> Principal | None:
    """A static API token (``clt_…``) or an OAuth access token (``cla_…``), looked up on the event loop."""
    if raw.startswith(oauth.ACCESS_PREFIX):
        found, principal_of = oauth.access_lookup(raw), oauth.access_principal_of
    else:
        found, principal_of = tokens.lookup(raw), tokens.principal_of
    row = await reads.first(*found) if found else None
    return None if row is None else principal_of(row)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The token's principal, if it holds the scope the route asks for and is within its rate limit."""
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthenticated()
    principal = await authenticate(request.app.state.reads, raw.strip())
    if principal is None:
        raise _unauthenticated()
    verdict = await ratelimit.hit_from_loop(principal.rate_key)
    if not verdict.allowed:
        raise rate_limited(verdict.retry_after)
    needed = request.route_handler.opt.get("scope")
    if needed and not tokens.grants(principal.scopes, needed):
        raise ApiError(403, "auth.insufficient_scope", f"This token lacks the scope {needed!r}.")
    await write_slots.take(request, principal.account_id)
    return principal


def provide_version(request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> int:
    """The response shape the caller asks for. After authentication (it depends on
    ``principal``): an unauthenticated caller learns nothing about the API, and the
    two dependencies resolve one after the other instead of in a task group."""
    raw = request.headers.get("x-api-version")
    if raw is None:
        return CURRENT_VERSION
    version = whole_number(raw.strip())
    if version is not None and MIN_VERSION <= version <= CURRENT_VERSION:
        return version
    raise ApiError(
        400,
        "common.invalid_api_version",
        f"X-Api-Version must be a whole number from {MIN_VERSION} to {CURRENT_VERSION}.",
    )


SCOPE_EXAMPLE = "This token lacks the scope 'customers:update'."  # a scope every API has

# The statuses every API operation may answer with the envelope, with real examples of their keys (a
# feature adds its own 400, 404 and 412 examples);
# each operation lists the statuses it can really return (app.api.docs.responses).
API_RESPONSES = {
    401: error_response(
        "No token, or an unknown or revoked one. Key: `auth.not_authenticated`.",
        ("auth.not_authenticated", "Authentication credentials were not provided or are not valid.", {}),
    ),
    403: error_response(
        "The token lacks the scope. Key: `auth.insufficient_scope`.", ("auth.insufficient_scope", SCOPE_EXAMPLE, {})
    ),
    413: error_response(
        "Request body larger than 1 MiB. Key: `common.request_too_large`.",
        ("common.request_too_large", "The request body is too large.", {}),
    ),
    429: error_response(
        f"More than {ratelimit.DEFAULT_LIMIT} requests in a second from one client (a static token, or an OAuth app with all its tokens). "
        "Key: `common.rate_limited`; the `Retry-After` header tells the seconds to wait.",
        ("common.rate_limited", f"Too many requests: at most {ratelimit.DEFAULT_LIMIT} a second. Retry after 1 s.", {}),
    ),
    500: SERVER_ERROR_RESPONSE,
    503: UNAVAILABLE_RESPONSE,
}
