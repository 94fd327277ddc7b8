"""Pages as a class: one method per view, and a route table that names them.

A subclass overrides one view (or one helper a view calls) and keeps the rest; ``handlers`` turns the
table into Litestar's handlers, so no list of routes is kept by hand. Where a view runs is told by its
route: ``read`` views only read (app/database/sessions.py ``read_view`` decides where they run),
``thread`` views write and run in a worker thread with the posted form read before, on the event loop
(the ``formdata`` dependency), ``loop`` views run on the event loop (async, or too small to hop).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from litestar import Request, Router, get, post
from litestar.datastructures import MultiDict
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler

from app.database.sessions import read_view
from app.shared.audit import Actor
from app.web.auth import provide_actor


@dataclass(frozen=True)
class Route:
    """One route of a ``Views`` class: ``view`` names the method that answers, and the route (``<name>:<view>``)."""

    method: Literal["GET", "POST"]
    path: str
    view: str
    runs: Literal["read", "thread", "loop"]


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


async def provide_formdata(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> MultiDict[str]:
    """The posted form's text fields, without the CSRF token; read on the event loop, before a view runs.

    After ``actor`` (it depends on it): taking the actor's write slot reads the body too, and two
    dependencies that resolve side by side in a task group would each read part of it (a form
    posted while other writes held the slots came out empty)."""
    form = await request.form()
    return MultiDict([(k, v) for k, v in form.multi_items() if isinstance(v, str) and k != "_csrf_token"])


class Views:
    """The pages under ``path``, for the signed-in users of ``roles``: ``routes`` maps each to a method."""

    routes: ClassVar[tuple[Route, ...]] = ()

    def __init__(self, path: str, name: str, roles: tuple[str, ...]) -> None:
        self.path = path
        self.name = name
        self.roles = roles

    def handlers(self) -> list[HTTPRouteHandler]:
        return [self.handler(route) for route in self.routes]

    def handler(self, route: Route) -> HTTPRouteHandler:
        view: Callable[..., Any] = getattr(self, route.view)
        name = f"{self.name}:{route.view}"
        if route.runs == "read":
            assert route.method == "GET", route
            return read_view(route.path, view, name=name)
        decorator = get if route.method == "GET" else post
        if inspect.iscoroutinefunction(view):
            return decorator(route.path, name=name)(view)
        return decorator(route.path, name=name, sync_to_thread=route.runs == "thread")(view)

    def router(self) -> Router:
        return Router(
            path=self.path,
            route_handlers=self.handlers(),
            dependencies={"actor": Provide(provide_actor), "formdata": Provide(provide_formdata)},
            opt={"roles": self.roles},
            include_in_schema=False,
        )
