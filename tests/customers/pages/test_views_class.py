"""The generic views are a class: the route table names a method for every route, and a subclass that
overrides one view is served by its own method while the other routes keep the generic ones."""

from __future__ import annotations

import inspect

from app.accounts.pages import USERS
from app.admin.views import ResourceViews
from app.integrations.pages import IntegrationsViews


class UsersWithOwnPage(ResourceViews):
    def show(self, request, session, actor, item_id):  # type: ignore[override]
        raise NotImplementedError


def _served_by(handler) -> object:
    fn = handler.fn
    return inspect.unwrap(fn) if hasattr(fn, "__wrapped__") else fn


def test_every_route_is_served_by_the_method_it_names() -> None:
    for views in (ResourceViews(USERS), IntegrationsViews()):
        handlers = views.handlers()
        assert len({h.name for h in handlers}) == len(views.routes)
        for route, handler in zip(views.routes, handlers, strict=True):
            assert handler.name == f"{views.name}:{route.view}"
            assert _served_by(handler) == getattr(views, route.view), route
            assert route.method in handler.http_methods


def test_a_subclass_overrides_one_view_and_keeps_the_others() -> None:
    views = UsersWithOwnPage(USERS)
    handlers = {h.name: _served_by(h) for h in views.handlers()}
    assert handlers["users:show"] == views.show
    assert getattr(handlers["users:show"], "__func__", None) is UsersWithOwnPage.show
    assert getattr(handlers["users:edit"], "__func__", None) is ResourceViews.edit
