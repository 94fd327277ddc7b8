"""Worker threads shared so that one account's stuck writes never hold up anyone else.

Synchronous handlers run in each server process's thread pool (CLIENTELE_THREADS
threads). A write that waits for a lock (a row another connection holds, SQLite's
write lock) keeps its thread until the lock comes or the lock timeout ends the
wait. So a write takes a slot before its handler runs: one account's writes hold
at most CLIENTELE_ACCOUNT_WRITES slots at once (and at most half the slots), and
all writes together at most half the threads, which leaves the other half to
reads whatever the writes wait for. On SQLite, which writes one transaction at a
time, a process has one write slot. A write that finds no free slot waits for one
on the event loop, without a thread, for at most the lock timeout, then answers
503 as a lock timeout does. Reads take no slot.

The slot is taken where the request's account is known (``take``, called by the
API's principal and the back office's actor), once the request's body has been
received in full (Litestar keeps it for the handler), and given back by the
middleware when the request ends, whatever happened. A client that sends its
body slowly, or never finishes it, holds no slot while it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from weakref import WeakKeyDictionary

from anyio import to_thread
from litestar import Request
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.config import get_settings
from app.database.engine import POSTGRES_POOL, get_engine

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HELD = "clientele.write_slots"  # the scope key of the release callbacks of a request's slots


class WritesBusy(Exception):
    """No write slot came free within the lock timeout (answered 503, as a lock timeout)."""


class _Slots:
    """The slots of one event loop."""

    def __init__(self, per_account: int, total: int, wait: float) -> None:
        self.per_account = per_account
        self.wait = wait
        self.total = asyncio.Semaphore(total)
        self.accounts: dict[int, tuple[asyncio.Semaphore, int]] = {}  # account -> its semaphore, requests using it

    def _account(self, account_id: int) -> asyncio.Semaphore:
        semaphore, users = self.accounts.get(account_id) or (asyncio.Semaphore(self.per_account), 0)
        self.accounts[account_id] = (semaphore, users + 1)
        return semaphore

    def _done_with(self, account_id: int) -> None:
        semaphore, users = self.accounts[account_id]
        if users == 1:
            del self.accounts[account_id]
        else:
            self.accounts[account_id] = (semaphore, users - 1)

    async def take(self, account_id: int) -> list[Callable[[], None]]:
        """The release callbacks of the account's slot and a slot of all writes; WritesBusy after the wait."""
        semaphore = self._account(account_id)
        released: list[Callable[[], None]] = []
        try:
            async with asyncio.timeout(self.wait):
                await semaphore.acquire()
                released.append(semaphore.release)
                await self.total.acquire()
                released.append(self.total.release)
        except TimeoutError:
            for release in reversed(released):
                release()
            self._done_with(account_id)
            raise WritesBusy(f"no write slot for account {account_id} within {self.wait} s") from None
        except BaseException:
            for release in reversed(released):
                release()
            self._done_with(account_id)
            raise
        released.append(lambda: self._done_with(account_id))
        return released


_by_loop: WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = WeakKeyDictionary()


def _slots() -> _Slots:
    loop = asyncio.get_running_loop()
    slots = _by_loop.get(loop)
    if slots is None:
        settings = get_settings()
        # SQLite writes one transaction at a time: more writers in threads only poll for its lock, each
        # after a sleep, which leaves it idle between them; here they queue on the loop, in order, instead.
        total = 1 if get_engine().dialect.name == "sqlite" else max(1, min(settings.threads, POSTGRES_POOL) // 2)
        per_account = max(1, min(settings.account_writes, total // 2))  # never every slot: others' writes always get one
        slots = _by_loop[loop] = _Slots(per_account, total, settings.lock_timeout)
    return slots


async def take(request: Request[Any, Any, Any], account_id: int) -> None:
    """For a write request of ``account_id``: once its body has arrived in full, wait for a slot
    (at most the lock timeout), held until the request ends."""
    scope = request.scope
    if scope.get("method") not in WRITE_METHODS or _HELD in scope:
        return
    received = ScopeState.from_scope(scope)
    if received.body is Empty and received.form is Empty:  # (a multipart form read for its CSRF token: read)
        await request.body()  # the whole body first: a slow or silent client waits without a slot
    scope[_HELD] = await _slots().take(account_id)  # type: ignore[literal-required]


def release_slots(app: ASGIApp) -> ASGIApp:
    """Middleware: gives back the write slots a request took, when it ends (also on an error)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            for release in reversed(scope.pop(_HELD, ())):  # type: ignore[misc]
                release()

    return middleware


def use_thread_pool() -> None:
    """On start-up: the running event loop's default executor (where Litestar runs synchronous
    handlers) gets CLIENTELE_THREADS threads instead of min(32, CPUs + 4), and so does anyio's
    limit (where the back office's forms and the session store run their writes) instead of 40."""
    threads = get_settings().threads
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="clientele-handler"))
    to_thread.current_default_thread_limiter().total_tokens = threads
