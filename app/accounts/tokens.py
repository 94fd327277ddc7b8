"""API tokens: issued once, stored as SHA-256 hashes, carrying scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from app.accounts.models import Account, ApiToken
from app.database.async_reads import AnySelect
from app.database.engine import begin_write
from app.shared.audit import Who

TOKEN_PREFIX = "clt_"
RESOURCE_SCOPES = {"customers": ("read", "create", "update", "delete")}
SCOPES: frozenset[str] = frozenset(
    [*RESOURCE_SCOPES, *(f"{resource}:{action}" for resource, actions in RESOURCE_SCOPES.items() for action in actions)]
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def grants(scopes: Iterable[str], needed: str) -> bool:
    """``customers`` grants every ``customers:*`` scope."""
    scopes = set(scopes)
    return needed in scopes or needed.split(":", 1)[0] in scopes


@dataclass(frozen=True)
class Principal:
    """Who calls the API: one token of one account (a static API token, or an
    OAuth access token of the app ``app_id``)."""

    token_id: int
    account_id: int
    timezone: str
    scopes: frozenset[str]
    app_id: int | None = None
    # The account's customers revision, read in the statement that authenticated the call.
    revision: int = 0

    @property
    def who(self) -> Who:
        """How the customer history names this caller."""
        if self.app_id is not None:
            return Who("oauth_app", self.app_id, f"OAuth app #{self.app_id}")
        return Who("token", self.token_id, f"API token #{self.token_id}")

    @property
    def rate_key(self) -> str:
        """What the rate limit counts: the static token, or the OAuth client (all its tokens together)."""
        return f"oauth_app:{self.app_id}" if self.app_id is not None else f"api_token:{self.token_id}"


def issue(session: Session, account_id: int, scopes: Iterable[str], name: str = "") -> str:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s): {', '.join(unknown) or '(none)'}; known: {', '.join(sorted(SCOPES))}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    session.add(
        ApiToken(account_id=account_id, name=name, token_hash=hash_token(raw), prefix=raw[:10], scopes=" ".join(scopes))
    )
    session.commit()
    return raw


# Built once: every API request runs it.
_LIVE_TOKEN = (
    select(ApiToken.id, ApiToken.account_id, ApiToken.scopes, Account.timezone, Account.customers_revision)
    .join(Account, Account.id == ApiToken.account_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def lookup(raw: str) -> tuple[AnySelect, dict[str, Any]] | None:
    """The statement and parameters that find a live token (None: not one of ours)."""
    if not raw or len(raw) > 200:
        return None
    return _LIVE_TOKEN, {"token_hash": hash_token(raw)}


def principal_of(row: Any) -> Principal:
    return Principal(
        token_id=row.id, account_id=row.account_id, timezone=row.timezone, scopes=frozenset(row.scopes.split()), revision=row.customers_revision
    )


def authenticate(session: Session | Connection, raw: str) -> Principal | None:
    found = lookup(raw)
    row = session.execute(*found).first() if found else None
    return None if row is None else principal_of(row)
