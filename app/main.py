"""The application: one Litestar app serving the back office and the JSON API."""

from __future__ import annotations

import gc
import logging
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.jinja import JinjaTemplateEngine as Jinja
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope

from app.accounts.pages import USERS
from app.accounts.tokens import SCOPES
from app.admin.views import make_router
from app.api.cache import ResponseCache
from app.api.errors import api_exception_handler, is_api
from app.config import get_settings
from app.customers.api import CustomersApi
from app.customers.openapi import request_schemas
from app.customers.pages import CUSTOMERS
from app.customers.search import clean_trgm_pending_list, merge_fts_step
from app.database.async_reads import reads_for
from app.database.engine import get_engine
from app.database.maintenance import maintenance
from app.database.sessions import provide_session
from app.database.write_slots import release_slots, use_thread_pool
from app.integrations import api as oauth_api
from app.integrations import pages as integrations
from app.shared.inputs import numbers_in_path
from app.shared.package_data import package_data
from app.web import auth, filters
from app.web.errors import page_exception_handler
from app.web.security import security_headers
from app.web.static_files import StaticFileSystem
from app.web.store import DatabaseStore, SessionConfig
from app.web.swagger import StrictSwaggerRenderPlugin
from app.webhooks import delivery as webhooks

MAX_BODY = 1024 * 1024
TOKEN_URL = "/api/auth/token"


def exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_api(request):
        return api_exception_handler(request, exc)
    return page_exception_handler(request, exc)


async def allow_every_method(message: Message, scope: Scope) -> None:
    """An OPTIONS answer lists in ``Allow`` every method its path serves. Litestar 2 lists only
    those of the handler registered first for a path (litestar-org/litestar#4169, fixed in 3)."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = scope.get("path_template")
    route = next((r for r in scope["app"].routes if isinstance(r, HTTPRoute) and r.path_format == template), None)
    if route is None:
        return
    headers = [(name, value) for name, value in message.get("headers") or [] if name.lower() != b"allow"]
    headers.append((b"allow", ", ".join(sorted(route.methods)).encode()))
    message["headers"] = headers


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Clientele API",
        version="1.0.0",
        description=(
            "The Customers API, compatible with Inventorum's. Authenticate with `Authorization: Bearer <token>` "
            "(a static API token, or an OAuth2 access token from `POST /api/auth/token/`: client credentials "
            "with HTTP Basic, refresh tokens that rotate); "
            "choose the response shape with `X-Api-Version` (9 and below: `phone_numbers`; 10 and above: `phone_number`). "
            "Every error answers the envelope `{\"error\": {\"fields\", \"description\", \"key\"}}`."
        ),
        path="/schema",
        render_plugins=[
            JsonRenderPlugin(),
            StrictSwaggerRenderPlugin(path="/swagger"),
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", description="An API token or an OAuth2 access token"),
                "ClientBasic": SecurityScheme(type="http", scheme="basic", description="An OAuth2 app's client id and secret"),
                "OAuth2": SecurityScheme(
                    type="oauth2",
                    description="Access tokens of an OAuth2 app (Integrations page), sent as bearer tokens",
                    flows=OAuthFlows(
                        client_credentials=OAuthFlow(token_url=TOKEN_URL, refresh_url=TOKEN_URL, scopes={scope: f"The {scope} scope" for scope in sorted(SCOPES)})
                    ),
                ),
            }
        ),
        create_examples=False,
    )


SESSION_MAX_AGE = 12 * 3600


def start_maintenance() -> None:
    """SQLite's checkpoints and the search indexes' upkeep, off the requests' path."""
    housekeeping = maintenance()
    housekeeping.add_step(merge_fts_step, "sqlite")
    housekeeping.add_step(clean_trgm_pending_list, "postgresql")
    housekeeping.start()


async def open_reads(app: Litestar) -> None:
    """What the lookups every request makes are awaited on (app/database/async_reads.py):
    the API's token, the session store's read and the signed-in user."""
    if "reads" not in app.state:  # one app may be started more than once (test clients do that)
        app.state.reads = reads_for(get_engine())
        sessions = app.stores.get("sessions")
        assert isinstance(sessions, DatabaseStore)
        sessions.reads = app.state.reads
    await app.state.reads.open()


async def close_reads(app: Litestar) -> None:
    await app.state.reads.close()


def freeze_startup_objects() -> None:
    """Move what start-up built (mappings, compiled templates, the routes) out of
    the garbage collector's sight: a full collection then walks only what requests
    made, instead of pausing a request for tens of milliseconds now and then."""
    gc.collect()
    gc.freeze()


def create_app() -> Litestar:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    templates = TemplateConfig(directory=package_data("templates"), engine=Jinja, engine_callback=filters.register)
    sessions = SessionConfig(
        key="clientele_session",
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        exclude=["/api", "/static", "/schema"],
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="clientele_csrf",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        exclude=["/api", "/static", "/schema"],
    )
    app = Litestar(
        route_handlers=[
            CustomersApi,
            oauth_api.token,
            auth.login_page,
            auth.login_submit,
            auth.logout,
            auth.logout_everywhere,
            auth.home,
            make_router(CUSTOMERS),
            make_router(USERS),
            integrations.IntegrationsViews().router(),
            create_static_files_router(
                path="/static", directories=[package_data("static")], file_system=StaticFileSystem(), name="static", include_in_schema=False
            ),
        ],
        dependencies={"session": Provide(provide_session)},
        exception_handlers={Exception: exception_handler},
        request_max_body_size=MAX_BODY,
        openapi_config=openapi_config(),
        template_config=templates,
        middleware=[release_slots, sessions.middleware],
        stores={"sessions": DatabaseStore("sessions")},
        csrf_config=csrf,
        plugins=[FlashPlugin(FlashConfig(template_config=templates))],
        before_send=[security_headers, allow_every_method],
        guards=[numbers_in_path],
        # API list responses, remembered per account revision (app/api/cache.py).
        state=State({"api_lists": ResponseCache(max_entries=settings.api_cache_entries)}),
        on_startup=[use_thread_pool, start_maintenance, open_reads, freeze_startup_objects, webhooks.start_in_server],
        on_shutdown=[close_reads, maintenance().stop, webhooks.stop_in_server],
    )
    # Litestar makes component schemas of the handlers' types only; the request bodies the API
    # reads itself are described from the form (app/customers/openapi.py).
    app.openapi_schema.components.schemas.update(request_schemas())
    return app
