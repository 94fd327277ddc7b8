"""Error pages for the browser face: sign-in redirects, 403, 404 and 500 without details."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError

from app.database.errors import DATA_ERROR, RETRY_AFTER_UNAVAILABLE, log_unavailable, unavailable_detail
from app.web.auth import LoginRequired, login_url

logger = logging.getLogger("clientele")

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Unavailable for a moment",
}


def page_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, LoginRequired):
        target = login_url(request)
        if request.headers.get("hx-request") == "true":
            return Response(b"", status_code=200, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    status = exc.status_code if isinstance(exc, HTTPException) else 400 if isinstance(exc, DataError) else 500
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) and status < 500 else {}
    unavailable = unavailable_detail(exc) if status == 500 else None
    if unavailable is not None:
        log_unavailable(request, exc)
        status, detail = 503, unavailable
        headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    elif status >= 500:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        detail = "The error has been logged. Please try again in a moment."
    elif isinstance(exc, DataError):
        detail = DATA_ERROR
    else:
        detail = exc.detail if isinstance(exc, HTTPException) and exc.detail else TITLES.get(status, "Error")
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=status, media_type="text/plain", headers=headers)
    retry = None
    if status == 503 and request.method == "GET":
        retry = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Template(
        "error.html",
        context={"status": status, "title": TITLES.get(status, "Error"), "detail": detail, "retry": retry},
        status_code=status,
        headers=headers,
    )
