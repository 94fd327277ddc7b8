"""Webhook endpoints on the Integrations page: register one (its secret shown once), see its
deliveries (status, attempts, the answer's code), send one again, resume a paused endpoint.

``WebhookViews`` holds these views; the Integrations pages (``IntegrationsViews``) include them
and give them their page's context and list page."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from app.shared.audit import Actor
from app.web.views import Route
from app.webhooks import service
from app.webhooks.forms import EndpointForm
from app.webhooks.models import WebhookEndpoint


class WebhookViews:
    """The webhook views; the page that includes them provides ``page_context`` and ``list_with``."""

    webhook_routes = (
        Route("POST", "/webhooks", "create_webhook", "thread"),
        Route("GET", "/webhooks/{endpoint_id:int}", "webhook", "read"),
        Route("POST", "/webhooks/{endpoint_id:int}/resume", "resume_webhook", "thread"),
        Route("POST", "/webhooks/{endpoint_id:int}/delete", "delete_webhook", "thread"),
        Route("POST", "/webhooks/{endpoint_id:int}/deliveries/{delivery_id:int}/send", "send_webhook_again", "thread"),
    )

    def page_context(self, actor: Actor, **extra: Any) -> dict[str, Any]:
        raise NotImplementedError

    def list_with(self, session: Session, actor: Actor, webhook_form: EndpointForm, status_code: int) -> Template:
        """The including page, showing ``webhook_form`` (with its errors)."""
        raise NotImplementedError

    def create_webhook(self, session: NamedDependency[Session], actor: NamedDependency[Actor], formdata: NamedDependency[MultiDict[str]]) -> Template:
        form = EndpointForm(formdata)
        if not form.validate():
            return self.list_with(session, actor, form, 422)
        endpoint = service.register(session, actor.account_id, form.url.data or "", form.events.data or [])
        return Template("integrations/webhook_created.html", context=self.page_context(actor, endpoint=endpoint))

    def webhook(self, session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]) -> Template:
        endpoint = _endpoint_or_404(session, actor, endpoint_id)
        return Template("integrations/webhook.html", context=self.page_context(actor, endpoint=endpoint, deliveries=service.log(session, endpoint.id)))

    def resume_webhook(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]
    ) -> Redirect:
        if not service.resume(session, actor.account_id, endpoint_id):
            raise NotFoundException("No such endpoint.")
        flash(request, "Resumed: the changes that waited go out now, in order.", category="success")
        return Redirect(f"/integrations/webhooks/{endpoint_id}", status_code=303)

    def delete_webhook(
        self, request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]
    ) -> Redirect:
        if not service.remove(session, actor.account_id, endpoint_id):
            raise NotFoundException("No such endpoint.")
        flash(request, "Deleted the endpoint: it gets no more changes.", category="success")
        return Redirect("/integrations", status_code=303)

    def send_webhook_again(
        self,
        request: Request[Any, Any, Any],
        session: NamedDependency[Session],
        actor: NamedDependency[Actor],
        endpoint_id: FromPath[int],
        delivery_id: FromPath[int],
    ) -> Redirect:
        if not service.send_again(session, actor.account_id, endpoint_id, delivery_id):
            raise NotFoundException("No such delivery.")
        flash(request, "It goes out again shortly.", category="success")
        return Redirect(f"/integrations/webhooks/{endpoint_id}", status_code=303)


def _endpoint_or_404(session: Session, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    endpoint = service.get(session, actor.account_id, endpoint_id)
    if endpoint is None:
        raise NotFoundException("No such endpoint.")
    return endpoint
