"""API responses remembered per account revision, each with its ETag.

Every change to an account's customers raises ``accounts.customers_revision``
in the same transaction (the customer service and the seeder do). The
statement that authenticates an API call reads the revision with the token,
before any customer is read; a response built for that call is remembered
under a key that holds the revision. So a remembered response is never older
than the data the database held when a call with that key came in, on any
worker or host: a change anywhere gives the next calls a new revision, hence
new keys. Nothing is ever invalidated; old keys fall out of the LRU.

The cache is per process and bounded (entries and bytes); it holds no state
that another worker needs: losing it costs one database read per key.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str  # strong, quoted: '"…"'
    headers: dict[str, str] = field(default_factory=dict)  # sent with the body (not with a 304)

    def matches(self, if_none_match: str | None) -> bool:
        """RFC 9110 If-None-Match: ``*`` or any listed tag (weak comparison)."""
        return bool(if_none_match) and header_lists(if_none_match or "", self.etag)


def header_lists(header: str, etag: str, strong: bool = False) -> bool:
    """Whether an If-None-Match (weak comparison: ``W/"x"`` names ``"x"``) or, with ``strong``, an
    If-Match header (strong comparison: a weak tag names nothing, RFC 9110 §13.1.1) names the strong
    ``etag`` or ``*``."""
    tags = [tag.strip() for tag in header.split(",")]
    if not strong:
        tags = [tag.removeprefix("W/") for tag in tags]
    return "*" in tags or etag in tags


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class ResponseCache:
    """A thread-safe LRU of response bodies (handlers run in threads and on the event loop)."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Cached | None:
        with self._lock:
            cached = self._entries.get(key)
            if cached is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return cached

    def put(self, key: Hashable, body: bytes, headers: dict[str, str] | None = None) -> Cached:
        cached = Cached(body, etag_of(body), headers or {})
        if self.max_entries <= 0 or len(body) > self.max_bytes // 8:  # off; or one huge response would empty it
            return cached
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = cached
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)
        return cached

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
