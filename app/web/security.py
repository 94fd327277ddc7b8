"""Security headers on every response, and ``Secure`` cookies over HTTPS.

Applied as an application-level ``before_send`` hook, so that every response
gets them: pages, the API, static files, and the errors the framework answers
before any route (unknown paths, 405s).

- Pages: a Content-Security-Policy that allows only our own scripts and
  styles (the templates hold no inline script or style; htmx is told not to
  inject its indicator styles), no framing, no referrer to other sites, and
  ``Cache-Control: no-store``, as they show personal data.
- API: a CSP that allows nothing (it answers JSON only) and ``no-store``.
- Swagger UI (``/schema/swagger``) is served without inline script
  (``app/web/swagger.py``), so it gets the page policy, with inline styles
  allowed, which its components set.
- Over HTTPS (the request's scheme, as uvicorn sees it directly or from a
  trusted proxy's ``X-Forwarded-Proto``): ``Strict-Transport-Security``, and
  every cookie set is marked ``Secure`` even when CLIENTELE_SECURE_COOKIES is off.
"""

from __future__ import annotations

from litestar.types import Message, Scope

_COMMON = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    f"connect-src 'self'; form-action 'self'; {_COMMON}"
)
SWAGGER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
    f"connect-src 'self'; form-action 'self'; {_COMMON}"
)
API_CSP = f"default-src 'none'; {_COMMON}"

COMMON_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = b"max-age=31536000"


def policy_for(path: str) -> str:
    if path == "/api" or path.startswith("/api/"):
        return API_CSP
    if path.startswith("/schema"):
        return SWAGGER_CSP
    return PAGE_CSP


def _cacheable(path: str) -> bool:
    """Only the static assets and the public schema may be cached; everything else can show personal data."""
    return path.startswith(("/static/", "/schema"))


def _secure_cookie(value: bytes) -> bytes:
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    return value if b"secure" in attributes else value + b"; Secure"


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    path = scope.get("path", "")
    https = scope.get("scheme") == "https"
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _ in headers}
    extra = dict(COMMON_HEADERS)
    extra[b"content-security-policy"] = policy_for(path).encode()
    if not _cacheable(path):
        extra[b"cache-control"] = b"no-store"
    if https:
        extra[b"strict-transport-security"] = HSTS
        headers = [(name, _secure_cookie(value) if name.lower() == b"set-cookie" else value) for name, value in headers]
    headers.extend((name, value) for name, value in extra.items() if name not in present)
    message["headers"] = headers
