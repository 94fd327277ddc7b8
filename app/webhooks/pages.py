"""Webhook endpoints on the Integrations page: register one (its secret shown once), see its
deliveries (status, attempts, the answer's code), send one again, resume a paused endpoint."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from app.shared.audit import Actor
from app.webhooks import service
from app.webhooks.forms import EndpointForm


def _context(actor: Actor, **extra: Any) -> dict[str, Any]:
    from app.integrations.pages import _context as integrations_context

    return integrations_context(actor, **extra)


def _endpoint_or_404(session: Session, actor: Actor, endpoint_id: int):
    endpoint = service.get(session, actor.account_id, endpoint_id)
    if endpoint is None:
        raise NotFoundException("No such endpoint.")
    return endpoint


@post("/webhooks", name="webhooks:create")
async def create_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Response[Any]:
    form = await request.form()
    formdata = MultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "_csrf_token"])
    return await to_thread.run_sync(_create, request, session, actor, formdata)


def _create(request: Request, session: Session, actor: Actor, formdata: MultiDict) -> Response[Any]:
    from app.integrations.forms import AppForm
    from app.integrations.pages import _list_page

    form = EndpointForm(formdata)
    if not form.validate():
        return _list_page(session, actor, AppForm(), status_code=422, webhook_form=form)
    endpoint = service.register(session, actor.account_id, form.url.data, form.events.data)
    return Template("integrations/webhook_created.html", context=_context(actor, endpoint=endpoint))


@get("/webhooks/{endpoint_id:int}", name="webhooks:detail", sync_to_thread=True)
def detail_view(session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]) -> Template:
    endpoint = _endpoint_or_404(session, actor, endpoint_id)
    return Template("integrations/webhook.html", context=_context(actor, endpoint=endpoint, deliveries=service.log(session, endpoint.id)))


@post("/webhooks/{endpoint_id:int}/resume", name="webhooks:resume", sync_to_thread=True)
def resume_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]) -> Redirect:
    if not service.resume(session, actor.account_id, endpoint_id):
        raise NotFoundException("No such endpoint.")
    flash(request, "Resumed: the changes that waited go out now, in order.", category="success")
    return Redirect(f"/integrations/webhooks/{endpoint_id}", status_code=303)


@post("/webhooks/{endpoint_id:int}/delete", name="webhooks:delete", sync_to_thread=True)
def delete_view(request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int]) -> Redirect:
    if not service.remove(session, actor.account_id, endpoint_id):
        raise NotFoundException("No such endpoint.")
    flash(request, "Deleted the endpoint: it gets no more changes.", category="success")
    return Redirect("/integrations", status_code=303)


@post("/webhooks/{endpoint_id:int}/deliveries/{delivery_id:int}/send", name="webhooks:send_again", sync_to_thread=True)
def send_again_view(
    request: Request, session: NamedDependency[Session], actor: NamedDependency[Actor], endpoint_id: FromPath[int], delivery_id: FromPath[int]
) -> Redirect:
    if not service.send_again(session, actor.account_id, endpoint_id, delivery_id):
        raise NotFoundException("No such delivery.")
    flash(request, "It goes out again shortly.", category="success")
    return Redirect(f"/integrations/webhooks/{endpoint_id}", status_code=303)


ROUTES = [create_view, detail_view, resume_view, delete_view, send_again_view]
