"""Sign-in and sign-out for back-office users, and the signed-in actor of a request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, URLEncodedBody
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.models import Account, User
from app.database import write_slots
from app.shared import ratelimit
from app.shared.audit import Actor
from app.web import throttle

FAILED = "Email or password is wrong."


class LoginRequired(HTTPException):
    status_code = 401
    detail = "Sign in to continue."


class Forbidden(HTTPException):
    status_code = 403
    detail = "Your role does not allow this."


class TooManyRequests(HTTPException):
    status_code = 429
    detail = "Too many requests: please wait a moment and try again."


# Built once: every back-office request runs it. A session is bound to the user, the account and the
# user's session epoch it was issued with: a deleted user (ids are never reused), a user of another
# account, or a session ended by "Sign out everywhere" or a new password or role finds no row.
_ACTOR = (
    select(User.id, User.account_id, User.role, User.email, Account.name, Account.timezone)
    .join(Account, Account.id == User.account_id)
    .where(
        User.id == bindparam("user_id"),
        User.account_id == bindparam("account_id"),
        User.session_epoch == bindparam("epoch"),
    )
)
_BOUND = ("user_id", "account_id", "epoch")


def start_session(request: Request[Any, Any, Any], user: User) -> None:
    """Sign ``user`` in: a session under a new id (the previous one, if any, ends), bound to the
    user, the user's account and the user's current session epoch."""
    request.clear_session()
    request.set_session({"user_id": user.id, "account_id": user.account_id, "epoch": user.session_epoch})


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The signed-in user of this request; LoginRequired otherwise. Read on the event loop (app/database/async_reads.py)."""
    data = request.session if request.scope.get("session") is not None else {}
    bound = {name: data.get(name) for name in _BOUND}
    if bound["user_id"] is None:
        raise LoginRequired()
    row = None
    if all(type(value) is int for value in bound.values()):
        row = await request.app.state.reads.first(_ACTOR, bound)
    if row is None:
        request.clear_session()
        raise LoginRequired()
    actor = Actor(row.id, row.account_id, row.name, row.timezone, row.role, row.email, session=data)
    roles = request.route_handler.opt.get("roles")
    if roles and actor.role not in roles:
        raise Forbidden()
    # Ending sessions is never refused: someone flooding with a stolen session cannot keep it alive.
    if request.route_handler.opt.get("rate_limited", True):
        verdict = await ratelimit.hit_from_loop(f"user:{actor.user_id}")
        if not verdict.allowed:
            raise TooManyRequests(headers={"Retry-After": str(verdict.retry_after)})
    await write_slots.take(request, actor.account_id)
    return actor


def safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target."""
    if not target:
        return "/customers"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/customers"
    return target


def login_url(request: Request[Any, Any, Any]) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


@get("/login", name="login", sync_to_thread=False, include_in_schema=False)
def login_page(request: Request[Any, Any, Any], next: FromQuery[str] = "") -> Template:
    return Template("auth/login.html", context={"next": safe_next(next), "error": None, "email": ""})


@post("/login", name="login.submit", sync_to_thread=True, include_in_schema=False)
def login_submit(
    request: Request[Any, Any, Any], session: NamedDependency[Session], data: URLEncodedBody[dict[str, Any]]
) -> Response[Any]:
    email = str(data.get("email", ""))[:254].strip()
    password = str(data.get("password", ""))[:1024]
    target = safe_next(str(data.get("next", "")))
    address = request.client.host if request.client else "unknown"
    context = {"next": target, "email": email}
    # Counted before the password is checked, in the step that checks the lock: concurrent
    # attempts can never check more passwords than the lock allows.
    attempt = throttle.attempt(session, email, address)
    if isinstance(attempt, timedelta):
        minutes = max(1, round(attempt.total_seconds() / 60))
        message = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return Template("auth/login.html", context={**context, "error": message}, status_code=429)
    user = accounts.authenticate(session, email, password) if email and password else None
    if user is None:
        throttle.failed(session, attempt)
        return Template("auth/login.html", context={**context, "error": FAILED}, status_code=400)
    throttle.succeeded(session, email, attempt)
    start_session(request, user)
    return Redirect(target, status_code=303)


@post("/logout", name="logout", sync_to_thread=False, include_in_schema=False)
def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)


@post(
    "/logout/everywhere", name="logout.everywhere", sync_to_thread=True, include_in_schema=False,
    dependencies={"actor": Provide(provide_actor)}, opt={"rate_limited": False},
)
def logout_everywhere(request: Request[Any, Any, Any], session: NamedDependency[Session], actor: NamedDependency[Actor]) -> Redirect:
    """End every session of the signed-in user, on every device, this one included."""
    accounts.end_sessions(session, actor.user_id)
    request.clear_session()
    request.set_session({})  # anonymous, under a new id: only for the message
    flash(request, "Logged out on every device.", category="success")
    return Redirect("/login", status_code=303)


@get("/", name="home", sync_to_thread=False, include_in_schema=False)
def home() -> Redirect:
    return Redirect("/customers", status_code=302)


