"""Sign-in and sign-out for back-office users, and the signed-in actor of a request."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import ratelimit, write_slots
from app.accounts import service as accounts
from app.accounts.models import Account, User
from app.admin.resource import Actor
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


# Built once: every back-office request runs it.
_ACTOR = (
    select(User.id, User.account_id, User.role, User.email, Account.name, Account.timezone)
    .join(Account, Account.id == User.account_id)
    .where(User.id == bindparam("user_id"))
)


async def provide_actor(request: Request) -> Actor:
    """The signed-in user of this request; LoginRequired otherwise. Read on the event loop (app/async_reads.py)."""
    user_id = request.session.get("user_id") if request.scope.get("session") is not None else None
    if not isinstance(user_id, int):
        raise LoginRequired()
    row = await request.app.state.reads.first(_ACTOR, {"user_id": user_id})
    if row is None:
        request.clear_session()
        raise LoginRequired()
    actor = Actor(row.id, row.account_id, row.name, row.timezone, row.role, row.email)
    roles = request.route_handler.opt.get("roles")
    if roles and actor.role not in roles:
        raise Forbidden()
    verdict = await ratelimit.hit_from_loop(f"user:{actor.user_id}")
    if not verdict.allowed:
        raise TooManyRequests(headers={"Retry-After": str(verdict.retry_after)})
    await write_slots.take(request.scope, actor.account_id)
    return actor


def safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target."""
    if not target:
        return "/customers"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/customers"
    return target


def login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


@get("/login", name="login", sync_to_thread=False, include_in_schema=False)
def login_page(request: Request, next: FromQuery[str] = "") -> Template:
    return Template("auth/login.html", context={"next": safe_next(next), "error": None, "email": ""})


@post("/login", name="login.submit", sync_to_thread=True, include_in_schema=False)
def login_submit(
    request: Request, session: NamedDependency[Session], data: URLEncodedBody[dict[str, Any]]
) -> Response[Any]:
    email = str(data.get("email", ""))[:254].strip()
    password = str(data.get("password", ""))[:1024]
    target = safe_next(str(data.get("next", "")))
    address = request.client.host if request.client else "unknown"
    context = {"next": target, "email": email}
    wait = throttle.blocked_for(session, email, address)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        message = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return Template("auth/login.html", context={**context, "error": message}, status_code=429)
    user = accounts.authenticate(session, email, password) if email and password else None
    if user is None:
        throttle.record_failure(session, email, address)
        return Template("auth/login.html", context={**context, "error": FAILED}, status_code=400)
    throttle.clear(session, email)
    request.clear_session()
    request.set_session({"user_id": user.id})
    return Redirect(target, status_code=303)


@post("/logout", name="logout", sync_to_thread=False, include_in_schema=False)
def logout(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/", name="home", sync_to_thread=False, include_in_schema=False)
def home() -> Redirect:
    return Redirect("/customers", status_code=302)


