"""Error pages for the browser face."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

logger = logging.getLogger("clientele")


def page_exception_handler(request: Request, exc: Exception) -> Response[Any]:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status >= 500:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(f"Error {status}", status_code=status, media_type="text/plain")
