"""OAuth2 apps and their tokens: creation, client authentication, the two grants,
rotation of refresh tokens with reuse detection, and revocation. No HTTP here.

Every secret and token is random (256 bits) and stored only as its SHA-256
hash; a prefix of a few characters is kept to recognise it on the page.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.accounts.tokens import SCOPES, Principal, hash_token
from app.database.async_reads import AnySelect
from app.database.base import utcnow
from app.database.engine import begin_write, rowcount
from app.integrations.models import OAuthApp, OAuthToken

ACCESS_TOKEN_SECONDS = 36000
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
CLIENT_ID_PREFIX = "clc_"
SECRET_PREFIX = "cls_"
ACCESS_PREFIX = "cla_"
REFRESH_PREFIX = "clr_"
MAX_NAME = 200


class GrantError(Exception):
    """A token request the endpoint refuses: an OAuth error code and a description."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class NewApp:
    app: OAuthApp
    client_secret: str  # shown once, never stored


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True)
class Grant:
    """One family of tokens: a client-credentials grant and its refreshes."""

    family: str
    scopes: str
    started_at: datetime
    refreshed_at: datetime
    access_expires_at: datetime | None


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown) or '(none)'}.")
    return scopes


# -- apps (the Integrations page) ---------------------------------------------------


def create_app(session: Session, account_id: int, name: str, scopes: Iterable[str]) -> NewApp:
    begin_write(session)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"The name must have 1 to {MAX_NAME} characters.")
    scopes = _check_scopes(scopes)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    app = OAuthApp(
        account_id=account_id,
        name=name,
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(18),
        secret_hash=hash_token(secret),
        scopes=" ".join(scopes),
    )
    session.add(app)
    session.commit()
    return NewApp(app, secret)


def list_apps(session: Session, account_id: int) -> list[tuple[OAuthApp, int]]:
    """The account's apps, newest first, each with its number of live grants."""
    apps = list(session.scalars(select(OAuthApp).where(OAuthApp.account_id == account_id).order_by(OAuthApp.id.desc())))
    live = dict(
        session.execute(
            select(OAuthToken.app_id, func.count(func.distinct(OAuthToken.family)))
            .where(
                OAuthToken.app_id.in_([app.id for app in apps if app.revoked_at is None]),
                OAuthToken.revoked_at.is_(None),
                OAuthToken.used_at.is_(None),
                OAuthToken.expires_at > utcnow(),
            )
            .group_by(OAuthToken.app_id)
        ).all()
    )
    return [(app, live.get(app.id, 0) if app.revoked_at is None else 0) for app in apps]


def get_app(session: Session, account_id: int, app_id: int) -> OAuthApp | None:
    return session.scalar(select(OAuthApp).where(OAuthApp.account_id == account_id, OAuthApp.id == app_id))


def grants(session: Session, account_id: int, app_id: int) -> list[Grant]:
    """The live grants of one app: families holding a token that is not revoked, expired or rotated."""
    rows = session.scalars(
        select(OAuthToken)
        .where(
            OAuthToken.account_id == account_id,
            OAuthToken.app_id == app_id,
            OAuthToken.revoked_at.is_(None),
            OAuthToken.used_at.is_(None),
            OAuthToken.expires_at > utcnow(),
        )
        .order_by(OAuthToken.id)
    ).all()
    families: dict[str, list[OAuthToken]] = {}
    for token in rows:
        families.setdefault(token.family, []).append(token)
    if not families:
        return []
    started = dict(
        session.execute(
            select(OAuthToken.family, func.min(OAuthToken.created_at))
            .where(OAuthToken.app_id == app_id, OAuthToken.family.in_(list(families)))
            .group_by(OAuthToken.family)
        ).all()
    )
    result = [
        Grant(
            family=family,
            scopes=tokens[-1].scopes,
            started_at=started.get(family, tokens[0].created_at),
            refreshed_at=tokens[-1].created_at,
            access_expires_at=max((t.expires_at for t in tokens if t.kind == "access"), default=None),
        )
        for family, tokens in families.items()
    ]
    return sorted(result, key=lambda g: g.refreshed_at, reverse=True)


def purge_expired(session: Session) -> int:
    """Remove expired access and refresh tokens. Nothing answers differently: an expired token is
    refused like an unknown one, and a rotated refresh token is only needed (to catch its reuse)
    until it expires. Live grants keep their live tokens."""
    return rowcount(session.execute(delete(OAuthToken).where(OAuthToken.expires_at <= utcnow())))


def _revoke_tokens(session: Session, *conditions: ColumnElement[bool]) -> int:
    return rowcount(session.execute(
        update(OAuthToken).where(OAuthToken.revoked_at.is_(None), *conditions).values(revoked_at=utcnow())
    ))


def revoke_app(session: Session, account_id: int, app_id: int) -> OAuthApp | None:
    """Revoke an app and every token it holds; None if the account has no such app."""
    begin_write(session)
    app = get_app(session, account_id, app_id)
    if app is None:
        return None
    if app.revoked_at is None:
        app.revoked_at = utcnow()
    _revoke_tokens(session, OAuthToken.app_id == app.id)
    session.commit()
    return app


def revoke_grant(session: Session, account_id: int, app_id: int, family: str) -> bool:
    """Revoke one family of tokens (its access and refresh tokens) of one app of the account."""
    begin_write(session)
    count = _revoke_tokens(session, OAuthToken.account_id == account_id, OAuthToken.app_id == app_id, OAuthToken.family == family)
    session.commit()
    return count > 0


# -- the token endpoint -----------------------------------------------------------------


def authenticate_client(session: Session, client_id: str, client_secret: str) -> OAuthApp | None:
    """The live app with that id and secret; None otherwise (no hint which was wrong)."""
    if not client_id or not client_secret or len(client_id) > 64 or len(client_secret) > 200:
        return None
    app = session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))
    given = hash_token(client_secret)
    if app is None:
        hmac.compare_digest(given, given)
        return None
    if not hmac.compare_digest(app.secret_hash, given) or app.revoked_at is not None:
        return None
    return app


def _requested_scopes(requested: str | None, allowed: str) -> str:
    allowed_set = set(allowed.split())
    if requested is None or not requested.strip():
        return allowed
    wanted = set(requested.split())
    if not wanted <= allowed_set:
        raise GrantError("invalid_scope", "The requested scope is not granted to this client.")
    return " ".join(sorted(wanted))


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _issue(session: Session, app: OAuthApp, family: str, scopes: str) -> TokenPair:
    now = utcnow()
    access, refresh = _new_token(ACCESS_PREFIX), _new_token(REFRESH_PREFIX)
    common = {"app_id": app.id, "account_id": app.account_id, "family": family, "scopes": scopes, "created_at": now}
    session.add_all(
        [
            OAuthToken(kind="access", token_hash=hash_token(access), prefix=access[:10], expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS), **common),
            OAuthToken(kind="refresh", token_hash=hash_token(refresh), prefix=refresh[:10], expires_at=now + REFRESH_TOKEN_LIFETIME, **common),
        ]
    )
    session.commit()
    return TokenPair(access, refresh, ACCESS_TOKEN_SECONDS, scopes)


def client_credentials(session: Session, app: OAuthApp, scope: str | None = None) -> TokenPair:
    """A new grant: a fresh family with an access and a refresh token."""
    begin_write(session)
    return _issue(session, app, secrets.token_hex(16), _requested_scopes(scope, app.scopes))


def refresh(session: Session, app: OAuthApp, raw: str, scope: str | None = None) -> TokenPair:
    """Rotate a refresh token: mark it used and issue a new pair in its family.

    A refresh token presented a second time means that it leaked (or that a
    client lost the answer): the whole family is revoked, and the request refused.
    """
    begin_write(session)
    invalid = GrantError("invalid_grant", "The refresh token is invalid, expired, revoked or already used.")
    if not raw or len(raw) > 200 or not raw.startswith(REFRESH_PREFIX):
        raise invalid
    token = session.scalar(select(OAuthToken).where(OAuthToken.token_hash == hash_token(raw), OAuthToken.kind == "refresh"))
    if token is None or token.app_id != app.id:
        raise invalid
    now = utcnow()
    if token.revoked_at is not None or token.expires_at <= now:
        raise invalid
    scopes = _requested_scopes(scope, token.scopes)
    # Claim the token: only one request can flip used_at from NULL, even when two race.
    claimed = rowcount(session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == token.id, OAuthToken.used_at.is_(None), OAuthToken.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        session.rollback()
        begin_write(session)
        _revoke_tokens(session, OAuthToken.family == token.family)
        session.commit()
        raise GrantError("invalid_grant", "The refresh token was already used; every token of its grant is now revoked.")
    return _issue(session, app, token.family, scopes)


# Built once: every API request with an OAuth token runs it.
_LIVE_ACCESS_TOKEN = (
    select(OAuthToken.id, OAuthToken.app_id, OAuthToken.account_id, OAuthToken.scopes, Account.timezone, Account.customers_revision)
    .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
    .join(Account, Account.id == OAuthToken.account_id)
    .where(
        OAuthToken.token_hash == bindparam("token_hash"),
        OAuthToken.kind == "access",
        OAuthToken.revoked_at.is_(None),
        OAuthToken.expires_at > bindparam("now", type_=OAuthToken.expires_at.type),
        OAuthApp.revoked_at.is_(None),
    )
)


def access_lookup(raw: str) -> tuple[AnySelect, dict[str, Any]] | None:
    """The statement and parameters that find a live access token of a live app (None: not one of ours)."""
    if not raw or len(raw) > 200 or not raw.startswith(ACCESS_PREFIX):
        return None
    return _LIVE_ACCESS_TOKEN, {"token_hash": hash_token(raw), "now": utcnow()}


def access_principal_of(row: Any) -> Principal:
    return Principal(
        token_id=row.id, account_id=row.account_id, timezone=row.timezone, scopes=frozenset(row.scopes.split()), app_id=row.app_id,
        revision=row.customers_revision,
    )


def authenticate_access(session: Session | Connection, raw: str) -> Principal | None:
    """The principal of a live access token of a live app."""
    found = access_lookup(raw)
    row = session.execute(*found).first() if found else None
    return None if row is None else access_principal_of(row)
