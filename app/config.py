"""Settings read from the environment, with safe defaults for a local start."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.inputs import whole_number

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLIENTELE_VAR_DIR", BASE_DIR / "var"))


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


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    number = whole_number(raw)
    if number is None:
        raise ValueError(f"{name} must be a whole number in ASCII digits, not {raw!r}")
    return number


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
        # API list responses each worker remembers (app/response_cache.py); 0 turns remembering off.
        api_cache_entries=_whole_number("CLIENTELE_API_CACHE_ENTRIES", 512),
    )
