"""The OAuth2 token endpoint: client credentials and refresh-token grants (RFC 6749 §4.4, §6).

Clients authenticate with HTTP Basic (``client_id:client_secret``), or with
``client_id`` and ``client_secret`` in the body; the body is form-encoded as
the RFC says, or a JSON object. Errors answer the API's envelope with the
OAuth error as the key (``auth.invalid_client``, ``auth.invalid_grant``, …).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import RawBody
from sqlalchemy.orm import Session

from app.accounts.tokens import SCOPES
from app.api.auth import API_RESPONSES, rate_limited
from app.api.docs import NO_STORE as NO_STORE_HEADERS
from app.api.docs import WWW_AUTHENTICATE, documented
from app.api.errors import SERVER_ERROR_RESPONSE, UNAVAILABLE_RESPONSE, ApiError, error_response
from app.database.engine import begin_write
from app.integrations import service
from app.shared import ratelimit

GRANT_TYPES = ("client_credentials", "refresh_token")
PARAMETERS = ("grant_type", "refresh_token", "scope", "client_id", "client_secret")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INVALID_CLIENT = "Client authentication failed: send the client id and secret with HTTP Basic."
UNSUPPORTED = "Send the parameters as application/x-www-form-urlencoded."


@dataclass
class TokenResponse:
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    scope: str


def _invalid_request(description: str) -> ApiError:
    return ApiError(400, "auth.invalid_request", description, headers=NO_STORE)


def _invalid_client() -> ApiError:
    return ApiError(
        401,
        "auth.invalid_client",
        INVALID_CLIENT,
        headers={**NO_STORE, "WWW-Authenticate": 'Basic realm="api"'},
    )


def _parameters(request: Request[Any, Any, Any], body: bytes) -> dict[str, str]:
    """The request's parameters: each at most once, each a string."""
    media_type = request.content_type[0].lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_request("The request body is not valid UTF-8.") from exc
    if media_type == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "common.malformed_json", "The request body is not valid JSON.", headers=NO_STORE) from exc
        if not isinstance(data, dict):
            raise _invalid_request("The request body must be a JSON object.")
        pairs = list(data.items())
    elif media_type in ("application/x-www-form-urlencoded", "") or not text.strip():
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=20, errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid_request("The request body is not a valid form.") from exc
    else:
        raise ApiError(
            415, "common.unsupported_media_type", UNSUPPORTED, headers=NO_STORE
        )
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            continue
        if name in params:
            raise _invalid_request(f"The parameter {name} is given more than once.")
        if not isinstance(value, str):
            raise _invalid_request(f"The parameter {name} must be a string.")
        params[name] = value
    return params


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise _invalid_client()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise _invalid_client() from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _invalid_client()
    return unquote_plus(client_id), unquote_plus(secret)


def _client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _token_body() -> RequestBody:
    properties: dict[str, Schema | Reference] = {
        "grant_type": Schema(type=OpenAPIType.STRING, enum=list(GRANT_TYPES)),
        "refresh_token": Schema(type=OpenAPIType.STRING, description="For grant_type=refresh_token: the refresh token to rotate."),
        "scope": Schema(
            type=OpenAPIType.STRING,
            description=f"Optional, space-separated: a subset of the app's scopes ({', '.join(sorted(SCOPES))}).",
        ),
    }
    schema = Schema(type=OpenAPIType.OBJECT, properties=properties, required=["grant_type"])
    return RequestBody(content={"application/x-www-form-urlencoded": OpenAPIMediaType(schema=schema)}, required=True)


TokenOperation = documented(
    body=_token_body(),
    response_headers={
        200: NO_STORE_HEADERS,
        400: NO_STORE_HEADERS,
        401: {**NO_STORE_HEADERS, "WWW-Authenticate": WWW_AUTHENTICATE},
    },
)


TOKEN_RESPONSES = {
    400: error_response(
        "Keys: `auth.invalid_request` (a missing, repeated or unreadable parameter), `auth.unsupported_grant_type`, "
        "`auth.invalid_grant` (an unknown, expired, revoked or reused refresh token; a reused one also revokes "
        "every token of its grant), `auth.invalid_scope`, `common.malformed_json`.",
        ("auth.invalid_request", "The parameter grant_type is required.", {}),
        ("auth.unsupported_grant_type", f"Supported grant types: {', '.join(GRANT_TYPES)}.", {}),
        ("auth.invalid_grant", "The refresh token is invalid, expired, revoked or already used.", {}),
        ("auth.invalid_scope", "The requested scope is not granted to this client.", {}),
    ),
    401: error_response(
        "No client authentication, a wrong client id or secret, or a revoked app. Key: `auth.invalid_client`.",
        ("auth.invalid_client", INVALID_CLIENT, {}),
    ),
    413: API_RESPONSES[413],
    415: error_response(
        "The body is neither form-encoded nor JSON. Key: `common.unsupported_media_type`.",
        ("common.unsupported_media_type", UNSUPPORTED, {}),
    ),
    429: error_response(
        "More than 20 token requests in a second from one address. Key: `common.rate_limited`; "
        "the `Retry-After` header tells the seconds to wait.",
        ("common.rate_limited", "Too many requests: at most 20 a second. Retry after 1 s.", {}),
    ),
    500: SERVER_ERROR_RESPONSE,
    503: UNAVAILABLE_RESPONSE,
}


@post(
    "/api/auth/token",
    name="oauth.token",
    status_code=200,
    sync_to_thread=True,
    summary="Get an access token",
    operation_id="get_token",
    tags=["Authentication"],
    security=[{"ClientBasic": []}],
    responses=TOKEN_RESPONSES,
    operation_class=TokenOperation,
)
def token(request: Request[Any, Any, Any], session: NamedDependency[Session], body: RawBody) -> Response[TokenResponse]:
    """OAuth2 client credentials and refresh token grants. The access token lasts 36,000 s (10 h);
    each refresh answers a new refresh token and makes the old one invalid."""
    verdict = ratelimit.hit(f"token_endpoint:{_client_address(request)}")
    if not verdict.allowed:
        raise rate_limited(verdict.retry_after)
    params = _parameters(request, body)
    basic = _basic_credentials(request)
    in_body = "client_id" in params or "client_secret" in params
    if basic and in_body:
        raise _invalid_request("Authenticate the client one way only: HTTP Basic or the body, not both.")
    if not basic and not in_body:
        raise _invalid_client()  # RFC 6749 §5.2: no client authentication included
    client_id, secret = basic or (params.get("client_id", ""), params.get("client_secret", ""))
    grant_type = params.get("grant_type", "")
    if not grant_type:
        raise _invalid_request("The parameter grant_type is required.")
    begin_write(session)
    app = service.authenticate_client(session, client_id, secret)
    if app is None:
        raise _invalid_client()
    try:
        if grant_type == "client_credentials":
            pair = service.client_credentials(session, app, params.get("scope"))
        elif grant_type == "refresh_token":
            if not params.get("refresh_token"):
                raise _invalid_request("The parameter refresh_token is required.")
            pair = service.refresh(session, app, params["refresh_token"], params.get("scope"))
        else:
            raise ApiError(400, "auth.unsupported_grant_type", f"Supported grant types: {', '.join(GRANT_TYPES)}.", headers=NO_STORE)
    except service.GrantError as exc:
        raise ApiError(400, f"auth.{exc.code}", exc.description, headers=NO_STORE) from exc
    body_out = TokenResponse(pair.access_token, "Bearer", pair.expires_in, pair.refresh_token, pair.scope)
    return Response(body_out, status_code=200, headers=NO_STORE)


__all__ = ["token"]
