"""The `clientele` command line."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts import tokens
from app.config import get_settings
from app.database import migrate
from app.database.engine import session_scope

DEMO_ACCOUNT = "Demo Shop"
DEMO_EMAIL = "admin@example.com"


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _account_id(session: Session, name: str) -> int:
    account = accounts.get_account(session, name)
    if account is None:
        _fail(f"No account named {name!r}. Create it with: clientele accounts create {name!r}")
    return account.id


@click.group()
def cli() -> None:
    """Clientele: a back office and JSON API for a shop's customers."""


def main() -> None:
    """The console script: the commands, with database errors told plainly."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        cli()
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        if "no such table" in text or "does not exist" in text or "UndefinedTable" in type(exc.orig).__name__:
            _fail(f"The database is not set up ({text.splitlines()[0]}). Run: clientele db upgrade")
        _fail(f"Database error: {text.splitlines()[0]}")


# -- run -------------------------------------------------------------------


def _bootstrap_demo(address: str) -> None:
    """On the very first start: a demo account, a user and a token, printed once; ``address`` is where it serves."""
    import secrets

    from app.accounts.models import Account

    with session_scope() as session:
        if session.scalar(select(Account.id).limit(1)) is not None:
            return
        account, _ = accounts.ensure_account(session, DEMO_ACCOUNT)
        password = secrets.token_urlsafe(12)
        accounts.create_user(session, account.id, DEMO_EMAIL, password, role="admin", name="Demo admin")
        token = tokens.issue(session, account.id, ["customers"], name="demo")
    click.echo(
        "\n".join(
            [
                "",
                "  First start: created the account 'Demo Shop'. These are shown only this once:",
                f"    Back office:  {address}  email {DEMO_EMAIL}  password {password}",
                f"    API token:    {token}",
                "",
            ]
        )
    )


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1, or CLIENTELE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8000, or CLIENTELE_PORT).")
@click.option("--workers", type=int, default=1, show_default=True, help="Server worker processes.")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Create a demo account on an empty database.")
def run(host: str | None, port: int | None, workers: int, demo: bool) -> None:
    """Migrate the database to the latest revision, then serve."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    migrate.upgrade()
    if demo:
        _bootstrap_demo(f"http://{f'[{host}]' if ':' in host else host}:{port}/")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        # X-Forwarded-For and X-Forwarded-Proto are believed only from CLIENTELE_TRUSTED_PROXIES (none by default):
        # from anyone else they are ignored, so a client cannot choose the address it is throttled by, or the scheme.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


# -- db --------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate up to REVISION (default: the latest)."""
    migrate.upgrade(revision=revision)


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate down to REVISION ('base' removes everything)."""
    migrate.downgrade(revision)


# -- accounts, users, tokens ----------------------------------------------


@cli.group("accounts")
def accounts_group() -> None:
    """Accounts (shops)."""


@accounts_group.command("create")
@click.argument("name")
@click.option("--timezone", default="Europe/Berlin", show_default=True)
def accounts_create(name: str, timezone: str) -> None:
    """Create the account NAME; succeeds quietly if it exists."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(f"Unknown time zone {timezone!r}.")
    with session_scope() as session:
        try:
            _, created = accounts.ensure_account(session, name, timezone)
        except ValueError as exc:
            _fail(str(exc))
    if created:
        click.echo(f"Created the account {name!r}.")


@cli.group("users")
def users_group() -> None:
    """Back-office users."""


@users_group.command("create")
@click.option("--account", "account_name", required=True)
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(accounts.ROLES), default="admin", show_default=True)
def users_create(account_name: str, email: str, role: str) -> None:
    """Create a user; the password is read from standard input."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    from litestar.datastructures import MultiDict

    from app.accounts.forms import UserForm

    form = UserForm(MultiDict({"email": email, "password": password, "role": role}))
    if not form.validate():
        _fail("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
    assert form.email.data is not None  # the form requires one
    with session_scope() as session:
        account_id = _account_id(session, account_name)
        try:
            accounts.create_user(session, account_id, form.email.data, password, role=role)
        except ValueError as exc:
            _fail(str(exc))
    click.echo(f"Created the {role} {email.strip().lower()} in {account_name!r}.")


@cli.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.option("--account", "account_name", required=True)
@click.option("--scope", "scopes", multiple=True, required=True, help=f"One of: {', '.join(sorted(tokens.SCOPES))}")
@click.option("--name", default="", help="A name to recognise the token by.")
def tokens_create(account_name: str, scopes: tuple[str, ...], name: str) -> None:
    """Create an API token; prints it alone on the last line (it is not stored)."""
    with session_scope() as session:
        account_id = _account_id(session, account_name)
        try:
            raw = tokens.issue(session, account_id, [s for scope in scopes for s in scope.split()], name=name)
        except ValueError as exc:
            _fail(str(exc))
    click.echo(f"Token for {account_name!r} with scopes {' '.join(sorted(scopes))} (shown once):", err=True)
    click.echo(raw)


@tokens_group.command("purge")
def tokens_purge() -> None:
    """Remove expired OAuth access and refresh tokens (refused like unknown ones anyway)."""
    from app.integrations import service as oauth

    with session_scope() as session:
        removed = oauth.purge_expired(session)
    click.echo(f"Removed {removed} expired OAuth token{'s' if removed != 1 else ''}.")


# -- trash -------------------------------------------------------------------


@cli.command()
def worker() -> None:
    """Deliver webhooks in the foreground (with CLIENTELE_WEBHOOK_WORKER=0 on the servers, or beside them)."""
    import signal

    from app.webhooks.delivery import deliverer

    delivering = deliverer()
    signal.signal(signal.SIGTERM, lambda *_: delivering.halt())
    click.echo("Delivering webhooks; Ctrl+C or SIGTERM stops.")
    try:
        delivering.run()
    except KeyboardInterrupt:
        pass


@cli.group("trash")
def trash_group() -> None:
    """Deleted customers."""


@trash_group.command("purge")
@click.option("--older-than-days", type=click.IntRange(min=0), default=None, help="Default: the retention (30 days).")
def trash_purge(older_than_days: int | None) -> None:
    """Remove for good what was deleted longer ago than the retention."""
    from app.customers import trash

    days = trash.RETENTION_DAYS if older_than_days is None else older_than_days
    with session_scope() as session:
        removed = trash.purge(session, days)
    click.echo(f"Removed {removed} customer{'s' if removed != 1 else ''} deleted more than {days} days ago.")


@cli.group("sessions")
def sessions_group() -> None:
    """Back-office sign-in sessions."""


@sessions_group.command("purge")
def sessions_purge() -> None:
    """Remove expired sessions (those never used again after they expired)."""
    from app.web.store import DatabaseStore

    removed = DatabaseStore().purge_expired()
    click.echo(f"Removed {removed} expired session{'s' if removed != 1 else ''}.")


# -- seed ------------------------------------------------------------------


@cli.command()
@click.option("--customers", "count", type=click.IntRange(min=1), required=True)
@click.option("--account", "account_name", default=DEMO_ACCOUNT, show_default=True)
@click.option("--seed", "rng_seed", type=int, default=None, help="Random seed, for repeatable data.")
def seed(count: int, account_name: str, rng_seed: int | None) -> None:
    """Insert COUNT realistic demo customers, with a progress bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from app.customers.seed import seed as seed_customers

    with session_scope() as session:
        account_id = _account_id(session, account_name)
        with Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
        ) as progress:
            task = progress.add_task("Seeding customers", total=count)
            seed_customers(session, account_id, count, progress=lambda n: progress.advance(task, n), rng_seed=rng_seed)
    click.echo(f"Seeded {count} customers into {account_name!r}.")


if __name__ == "__main__":  # pragma: no cover
    main()
