"""Who is calling the API, with which scopes, speaking which version."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency

from app import ratelimit, write_slots
from app.accounts import tokens
from app.accounts.tokens import Principal
from app.async_reads import PoolReads, SyncReads
from app.customers.forms import NAME_MESSAGE
from app.customers.payload import CURRENT_VERSION, MIN_VERSION
from app.errors import SERVER_ERROR_RESPONSE, UNAVAILABLE_RESPONSE, ApiError, error_response
from app.inputs import whole_number
from app.integrations import service as oauth


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


async def provide_principal(request: Request) -> Principal:
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


def provide_version(request: Request, principal: NamedDependency[Principal]) -> int:
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


SCOPE_EXAMPLE = "This token lacks the scope 'customers:update'."

# Every status an API operation may answer with the envelope, with real examples of its keys;
# each operation lists the statuses it can really return (app.api_docs.responses).
API_RESPONSES = {
    400: error_response(
        "Bad request. Keys: `common.serializer_error` (field errors, every failing field listed), "
        "`common.malformed_json`, `common.invalid_body`, `common.invalid_parameter`, `common.invalid_api_version`.",
        ("common.serializer_error", "Serialization error", {name: [NAME_MESSAGE] for name in ("first_name", "last_name", "company")}),
        ("common.invalid_parameter", "A query parameter is not valid.", {"limit": ["Must be a positive integer."]}),
        ("common.malformed_json", "The request body is not valid JSON: JSON is malformed: invalid character (byte 0)", {}),
        ("common.invalid_body", "The request body must be a JSON object.", {}),
        ("common.invalid_api_version", f"X-Api-Version must be a whole number from {MIN_VERSION} to {CURRENT_VERSION}.", {}),
    ),
    401: error_response(
        "No token, or an unknown or revoked one. Key: `auth.not_authenticated`.",
        ("auth.not_authenticated", "Authentication credentials were not provided or are not valid.", {}),
    ),
    403: error_response(
        "The token lacks the scope. Key: `auth.insufficient_scope`.", ("auth.insufficient_scope", SCOPE_EXAMPLE, {})
    ),
    404: error_response(
        "No such customer in this account. Key: `common.unknown`.", ("common.unknown", None, {})),
    412: error_response(
        "If-Match names a version the customer no longer has; `ETag` tells the current one. Key: `common.precondition_failed`.",
        ("common.precondition_failed", "The customer was changed since that version. GET it again, then retry with its new ETag.", {}),
    ),
    413: error_response(
        "Request body larger than 1 MiB. Key: `common.request_too_large`.",
        ("common.request_too_large", "The request body is too large.", {}),
    ),
    429: error_response(
        "More than 20 requests in a second from one client (a static token, or an OAuth app with all its tokens). "
        "Key: `common.rate_limited`; the `Retry-After` header tells the seconds to wait.",
        ("common.rate_limited", "Too many requests: at most 20 a second. Retry after 1 s.", {}),
    ),
    500: SERVER_ERROR_RESPONSE,
    503: UNAVAILABLE_RESPONSE,
}
