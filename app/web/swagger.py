"""Swagger UI without inline script or style, so that it runs under a strict
Content-Security-Policy: the page loads the vendored bundle and
``static/swagger-init.js``, which fetches the schema from ``/schema/openapi.json``."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin

VENDOR = "/static/vendor/swagger-ui"


class StrictSwaggerRenderPlugin(SwaggerRenderPlugin):
    def __init__(self, path: str = "/swagger", **kwargs: Any) -> None:
        super().__init__(
            js_url=f"{VENDOR}/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui-standalone-preset.js",
            path=path,
            style="",
            **kwargs,
        )

    def receive_router(self, router: Router) -> None:
        """No ``/schema/oauth2-redirect.html``: Swagger UI needs it only for OAuth2 flows that
        send the browser back to it (authorization code, implicit), which this API does not offer
        (bearer tokens and HTTP Basic), and Litestar's page runs inline script, which the CSP blocks."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  <link href="{self.css_url}" rel="stylesheet">
  <script src="{self.js_url}" defer></script>
  <script src="{self.standalone_preset_js_url}" defer></script>
  <script src="/static/swagger-init.js" defer></script>
</head>
<body data-schema-url="/schema/openapi.json">
  <div id="swagger-container"></div>
</body>
</html>""".encode()
