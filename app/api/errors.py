"""The error envelope of the JSON API, and the exception handlers that produce it."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DataError

from app.database.errors import DATA_ERROR, RETRY_AFTER_UNAVAILABLE, UNAVAILABLE, log_unavailable, unavailable_detail

logger = logging.getLogger("clientele")

class ErrorBody(msgspec.Struct):
    fields: dict[str, list[str]]
    description: str | None
    key: str


class ErrorEnvelope(msgspec.Struct):
    """Every error of the API has this shape."""

    error: ErrorBody


class ApiError(Exception):
    """An error answered with the envelope."""

    def __init__(
        self,
        status: int,
        key: str,
        description: str | None = None,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description or key)
        self.status = status
        self.key = key
        self.description = description
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(description: str, *examples: tuple[str, str | None, dict[str, list[str]]]) -> ResponseSpec:
    """An OpenAPI response whose body is the error envelope, with a real example of each key it
    may carry: (key, description, fields)."""
    return ResponseSpec(
        data_container=ErrorEnvelope,
        description=description,
        generate_examples=False,
        examples=[
            Example(summary=key, value={"error": {"fields": fields, "description": text, "key": key}})
            for key, text, fields in examples
        ],
    )


# The 503 and 500 of every API operation.
UNAVAILABLE_RESPONSE = error_response(
    "The database cannot be reached or is too busy for now. Key: `common.unavailable`; "
    "the `Retry-After` header tells the seconds to wait.",
    ("common.unavailable", UNAVAILABLE, {}),
)
SERVER_ERROR = "Internal server error."
SERVER_ERROR_RESPONSE = error_response(
    "Unexpected error; no details are shown. Key: `common.server_error`.", ("common.server_error", SERVER_ERROR, {})
)


def serializer_error(fields: dict[str, list[str]]) -> ApiError:
    return ApiError(400, "common.serializer_error", "Serialization error", fields)


def not_found() -> ApiError:
    return ApiError(404, "common.unknown")


def envelope_response(error: ApiError) -> Response[Any]:
    body = ErrorEnvelope(ErrorBody(fields=error.fields, description=error.description, key=error.key))
    return Response(body, status_code=error.status, headers=error.headers, media_type="application/json")


# Status codes raised by the framework itself, and the key each gets.
FRAMEWORK_KEYS: dict[int, tuple[str, str | None]] = {
    400: ("common.bad_request", "The request could not be read."),
    401: ("auth.not_authenticated", "Authentication credentials were not provided or are not valid."),
    403: ("auth.permission_denied", "You do not have permission to perform this action."),
    404: ("common.unknown", None),
    405: ("common.method_not_allowed", "This method is not allowed on this resource."),
    413: ("common.request_too_large", "The request body is too large."),
    415: ("common.unsupported_media_type", "Send the request body as application/json."),
    429: ("common.rate_limited", "Too many requests: slow down and retry later."),
    503: ("common.unavailable", UNAVAILABLE),
}


def _from_http_exception(exc: HTTPException) -> ApiError:
    status = exc.status_code
    if status == 404 or isinstance(exc, NotFoundException):
        return not_found()
    key, description = FRAMEWORK_KEYS.get(status, ("common.error", None))
    if status == 400 and isinstance(exc, ValidationException):
        key, description = "common.invalid_parameter", "A query or path parameter is not valid."
    if status == 400 and "JSON" in (exc.detail or ""):
        key, description = "common.malformed_json", "The request body is not valid JSON."
    headers = dict(exc.headers or {})
    return ApiError(status, key, description, headers=headers)


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def api_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ApiError):
        return envelope_response(exc)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return envelope_response(_from_http_exception(exc))
    if isinstance(exc, DataError):
        return envelope_response(ApiError(400, "common.invalid_value", DATA_ERROR))
    detail = unavailable_detail(exc)
    if detail is not None:
        log_unavailable(request, exc)
        return envelope_response(
            ApiError(503, "common.unavailable", detail, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})
        )
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return envelope_response(ApiError(HTTP_500_INTERNAL_SERVER_ERROR, "common.server_error", SERVER_ERROR))
