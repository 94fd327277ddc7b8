"""The Integrations page of the back office: an account's admins create OAuth2 apps,
see a new app's secret once, and revoke apps and grants, effective at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from app.integrations import service
from app.integrations.forms import AppForm
from app.integrations.models import OAuthApp
from app.shared.audit import Actor
from app.shared.inputs import validated_choices, validated_text
from app.web.views import Route, Views, is_htmx
from app.webhooks import service as webhooks
from app.webhooks.forms import EndpointForm
from app.webhooks.pages import WebhookViews

FAMILY = re.compile(r"[0-9a-f]{32}")


def _clock(actor: NamedDependency[Actor]) -> Callable[[datetime | None], str]:
    zone = ZoneInfo(actor.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return local


def _context(actor: NamedDependency[Actor], **extra: Any) -> dict[str, Any]:
    return {"actor": actor, "nav": "integrations", "local": _clock(actor), **extra}


def _app_or_404(session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> OAuthApp:
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


def _confirm(request: Request[Any, Any, Any], actor: Actor, title: str, back: str, **extra: Any) -> Template:
    """A revocation's confirmation: in the dialog that htmx opens, or on a page of its own."""
    template = "_confirm_dialog.html" if is_htmx(request) else "confirm.html"
    return Template(template, context=_context(actor, body="integrations/_revoke.html", title=title, back=back, **extra))


class IntegrationsViews(WebhookViews, Views):
    """The Integrations pages, for admins only (checked by provide_actor on every request)."""

    routes = (
        Route("GET", "/", "list_page", "read"),
        Route("POST", "/", "create", "thread"),
        Route("GET", "/{app_id:int}", "detail", "read"),
        Route("GET", "/{app_id:int}/revoke", "confirm_revoke", "read"),
        Route("POST", "/{app_id:int}/revoke", "revoke", "thread"),
        Route("GET", "/{app_id:int}/grants/{family:str}/revoke", "confirm_revoke_grant", "read"),
        Route("POST", "/{app_id:int}/grants/{family:str}/revoke", "revoke_grant", "thread"),
        *WebhookViews.webhook_routes,
    )

    def __init__(self) -> None:
        super().__init__("/integrations", "integrations", ("admin",))

    def page_context(self, actor: Actor, **extra: Any) -> dict[str, Any]:
        return _context(actor, **extra)

    def list_with(self, session: Session, actor: Actor, webhook_form: EndpointForm, status_code: int) -> Template:
        return _list_page(session, actor, AppForm(), status_code=status_code, webhook_form=webhook_form)

    def list_page(self, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Template:
        return _list_page(session, actor, AppForm())

    def create(self, session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Template:
        form = AppForm(formdata)
        if not form.validate():
            return _list_page(session, actor, form, status_code=422)
        new = service.create_app(session, actor.account_id, validated_text(form.name), validated_choices(form.scopes))
        return Template("integrations/created.html", context=_context(actor, app=new.app, client_secret=new.client_secret))

    def detail(self, session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Template:
        app = _app_or_404(session, actor, app_id)
        grants = service.grants(session, actor.account_id, app.id) if app.revoked_at is None else []
        return Template("integrations/detail.html", context=_context(actor, app=app, grants=grants))

    def confirm_revoke(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Response[Any]:
        app = _app_or_404(session, actor, app_id)
        if app.revoked_at is not None:
            return Redirect(f"/integrations/{app.id}", status_code=303)
        detail = f"/integrations/{app.id}"
        back = detail if request.query_params.get("next") == detail else "/integrations"
        live = len(service.grants(session, actor.account_id, app.id))
        return _confirm(request, actor, f"Revoke {app.name}?", back, app=app, live=live)

    def confirm_revoke_grant(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int], family: FromPath[str]
    ) -> Template:
        app = _app_or_404(session, actor, app_id)
        grants = service.grants(session, actor.account_id, app.id) if FAMILY.fullmatch(family) else []
        grant = next((g for g in grants if g.family == family), None)
        if grant is None:
            raise NotFoundException("No such grant.")
        return _confirm(request, actor, f"Revoke this grant of {app.name}?", f"/integrations/{app.id}", app=app, grant=grant)

    def revoke(self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int]) -> Redirect:
        app = service.revoke_app(session, actor.account_id, app_id)
        if app is None:
            raise NotFoundException("No such app.")
        flash(request, f"Revoked {app.name}: its client id and every token it held stop working now.", category="success")
        return Redirect("/integrations", status_code=303)

    def revoke_grant(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], app_id: FromPath[int], family: FromPath[str]
    ) -> Redirect:
        if not FAMILY.fullmatch(family) or not service.revoke_grant(session, actor.account_id, app_id, family):
            raise NotFoundException("No such grant.")
        flash(request, "Revoked the grant: its access and refresh tokens stop working now.", category="success")
        return Redirect(f"/integrations/{app_id}", status_code=303)
