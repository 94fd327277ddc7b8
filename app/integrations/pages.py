"""The Integrations page of the back office: an account's admins create OAuth2 apps,
see a new app's secret once, and revoke apps and grants, effective at once."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from anyio import to_thread
from litestar import Request, Response, Router, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from app.admin.views import is_htmx
from app.integrations import service
from app.integrations.forms import AppForm
from app.shared.audit import Actor
from app.web.auth import provide_actor
from app.webhooks import pages as webhook_pages
from app.webhooks import service as webhooks
from app.webhooks.forms import EndpointForm

FAMILY = re.compile(r"[0-9a-f]{32}")


def _clock(actor: NamedDependency[Actor]):
    zone = ZoneInfo(actor.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return local


def _context(actor: NamedDependency[Actor], **extra: Any) -> dict[str, Any]:
    return {"actor": actor, "nav": "integrations", "local": _clock(actor), **extra}


async def _formdata(request: Request) -> MultiDict:
    form = await request.form()
    return MultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "_csrf_token"])


def _app_or_404(session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]):
    app = service.get_app(session, actor.account_id, app_id)
    if app is None:
        raise NotFoundException("No such app.")
    return app


def _list_page(
    session: NamedDependency[Session], actor: NamedDependency[Actor], form: AppForm, status_code: int = 200, webhook_form: EndpointForm | None = None
) -> Template:
    apps = service.list_apps(session, actor.account_id)
    endpoints = webhooks.endpoints(session, actor.account_id)
    context = _context(actor, apps=apps, form=form, endpoints=endpoints, webhook_form=webhook_form or EndpointForm())
    return Template("integrations/list.html", context=context, status_code=status_code)


@get("/", name="integrations:list", sync_to_thread=True)
def list_view(session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
    return _list_page(session, actor, AppForm())


@post("/", name="integrations:create")
async def create_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
    formdata = await _formdata(request)
    return await to_thread.run_sync(_create, session, actor, formdata)


def _create(session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: MultiDict) -> Template:
    form = AppForm(formdata)
    if not form.validate():
        return _list_page(session, actor, form, status_code=422)
    new = service.create_app(session, actor.account_id, form.name.data, form.scopes.data)
    return Template("integrations/created.html", context=_context(actor, app=new.app, client_secret=new.client_secret))


@get("/{app_id:int}", name="integrations:detail", sync_to_thread=True)
def detail_view(session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Template:
    app = _app_or_404(session, actor, app_id)
    grants = service.grants(session, actor.account_id, app.id) if app.revoked_at is None else []
    return Template("integrations/detail.html", context=_context(actor, app=app, grants=grants))


def _confirm(request: Request, actor: Actor, title: str, back: str, **extra: Any) -> Template:
    """A revocation's confirmation: in the dialog that htmx opens, or on a page of its own."""
    template = "_confirm_dialog.html" if is_htmx(request) else "confirm.html"
    return Template(template, context=_context(actor, body="integrations/_revoke.html", title=title, back=back, **extra))


@get("/{app_id:int}/revoke", name="integrations:confirm_revoke", sync_to_thread=True)
def confirm_revoke_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Response[Any]:
    app = _app_or_404(session, actor, app_id)
    if app.revoked_at is not None:
        return Redirect(f"/integrations/{app.id}", status_code=303)
    detail = f"/integrations/{app.id}"
    back = detail if request.query_params.get("next") == detail else "/integrations"
    live = len(service.grants(session, actor.account_id, app.id))
    return _confirm(request, actor, f"Revoke {app.name}?", back, app=app, live=live)


@get("/{app_id:int}/grants/{family:str}/revoke", name="integrations:confirm_revoke_grant", sync_to_thread=True)
def confirm_revoke_grant_view(
    request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int], family: FromPath[str]
) -> Template:
    app = _app_or_404(session, actor, app_id)
    grants = service.grants(session, actor.account_id, app.id) if FAMILY.fullmatch(family) else []
    grant = next((g for g in grants if g.family == family), None)
    if grant is None:
        raise NotFoundException("No such grant.")
    return _confirm(request, actor, f"Revoke this grant of {app.name}?", f"/integrations/{app.id}", app=app, grant=grant)


@post("/{app_id:int}/revoke", name="integrations:revoke", sync_to_thread=True)
def revoke_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Redirect:
    app = service.revoke_app(session, actor.account_id, app_id)
    if app is None:
        raise NotFoundException("No such app.")
    flash(request, f"Revoked {app.name}: its client id and every token it held stop working now.", category="success")
    return Redirect("/integrations", status_code=303)


@post("/{app_id:int}/grants/{family:str}/revoke", name="integrations:revoke_grant", sync_to_thread=True)
def revoke_grant_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int], family: FromPath[str]) -> Redirect:
    if not FAMILY.fullmatch(family) or not service.revoke_grant(session, actor.account_id, app_id, family):
        raise NotFoundException("No such grant.")
    flash(request, "Revoked the grant: its access and refresh tokens stop working now.", category="success")
    return Redirect(f"/integrations/{app_id}", status_code=303)


def make_router() -> Router:
    """The Integrations pages, for admins only (checked by provide_actor on every request)."""
    return Router(
        path="/integrations",
        route_handlers=[
            list_view,
            create_view,
            detail_view,
            confirm_revoke_view,
            revoke_view,
            confirm_revoke_grant_view,
            revoke_grant_view,
            *webhook_pages.ROUTES,
        ],
        dependencies={"actor": Provide(provide_actor)},
        opt={"roles": ("admin",)},
        include_in_schema=False,
    )
