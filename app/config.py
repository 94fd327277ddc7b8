"""Settings read from the environment, with safe defaults for a local start."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.shared.inputs import whole_number
from app.shared.package_data import default_var_dir

VAR_DIR = Path(os.environ.get("CLIENTELE_VAR_DIR") or default_var_dir())


def _secret_key() -> str:
    """CLIENTELE_SECRET_KEY, or a key generated once into var/ and reused."""
    key = os.environ.get("CLIENTELE_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    host: str
    port: int
    debug: bool
    secure_cookies: bool
    api_cache_entries: int = 512
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed;
    # empty: none, the headers are ignored. In uvicorn's spelling (forwarded_allow_ips).
    trusted_proxies: str = ""
    # Seconds a statement waits for a lock (PostgreSQL's lock_timeout, SQLite's busy timeout) and
    # seconds a statement may run (PostgreSQL's statement_timeout) before the request answers 503.
    lock_timeout: float = 5.0
    statement_timeout: float = 10.0
    # Worker threads of each server process for the synchronous handlers, and how many of them the
    # writes of one account may hold at once (its further writes wait for one of those, not for a thread).
    threads: int = 32
    account_writes: int = 8
    # Behind PgBouncer in transaction pooling mode (CLIENTELE_PGBOUNCER=1): each transaction may run on
    # another server connection, and PgBouncer 1.18 refuses the ``options`` startup parameter. So no
    # server-side prepared statements, no pipelined reads, nothing set for a connection's lifetime: the
    # pooler sets each server connection's timeouts (ops/pgbouncer.py), and what the app sets it sets
    # for one transaction (SET LOCAL).
    pgbouncer: bool = False


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    number = whole_number(raw)
    if number is None:
        raise ValueError(f"{name} must be a whole number in ASCII digits, not {raw!r}")
    return number


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw) if raw.isascii() else -1.0
    except ValueError:
        value = -1.0
    if not 0 < value < 86_400:
        raise ValueError(f"{name} must be a number of seconds above 0, not {raw!r}")
    return value


def _trusted_proxies(name: str) -> str:
    """A comma-separated list of IP addresses or networks (``10.0.0.0/8``), or ``*`` (any peer)."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{name} must list IP addresses or networks (or *), not {item!r}") from None
    return ",".join(items)


def _default_database_url() -> str:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'clientele.db'}"


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        database_url=normalise_database_url(os.environ.get("DATABASE_URL") or _default_database_url()),
        secret_key=_secret_key(),
        host=os.environ.get("CLIENTELE_HOST", "127.0.0.1"),
        port=_whole_number("CLIENTELE_PORT", 8000),
        debug=os.environ.get("CLIENTELE_DEBUG", "") == "1",
        # Behind HTTPS, set CLIENTELE_SECURE_COOKIES=1 so that cookies are sent over HTTPS only.
        secure_cookies=os.environ.get("CLIENTELE_SECURE_COOKIES", "") == "1",
        # API list responses each worker remembers (app/api/cache.py); 0 turns remembering off.
        api_cache_entries=_whole_number("CLIENTELE_API_CACHE_ENTRIES", 512),
        trusted_proxies=_trusted_proxies("CLIENTELE_TRUSTED_PROXIES"),
        lock_timeout=_seconds("CLIENTELE_LOCK_TIMEOUT", 5.0),
        statement_timeout=_seconds("CLIENTELE_STATEMENT_TIMEOUT", 10.0),
        threads=max(2, _whole_number("CLIENTELE_THREADS", 32)),
        account_writes=max(1, _whole_number("CLIENTELE_ACCOUNT_WRITES", 8)),
        pgbouncer=os.environ.get("CLIENTELE_PGBOUNCER", "") == "1",
    )
