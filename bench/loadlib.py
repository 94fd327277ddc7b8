"""Load and crash proof: many clients write through the API and the pages, every
acknowledged write is logged, and afterwards each one is checked in the database.

Used by ``python -m bench.loadtest`` (``make load``) and ``python -m bench.crash``
(``make crash``). Traffic goes to 127.0.0.1 only; every loop is bounded in time
and in count.

What counts:
- acknowledged write: a create answered 201 (API) or 303 (page), an update
  answered 200 with the saved customer (API) or the saved row (page inline
  save), a delete answered 200. Each is logged with what was sent and the
  version it made (the ETag's version; a page save's row does not tell it:
  a save based on an older version is merged with the changes made since, so
  page saves are checked in the history, and explain the values they wrote).
- expected refusals: 404 (the customer was deleted meanwhile), 412 (stale
  If-Match), the page's conflict view (a stale ``_version``). Their new values
  must never show up anywhere.
- unacknowledged: a request that got no answer (connection refused or cut,
  in the crash test while the server was down). It may or may not have been
  applied; it is never required, but explains what it wrote if found.
- everything else is an unexpected error.

Every written text value is unique in the run, so a value found in the
database names the one write that put it there.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "load"
DEFAULT_PG_SERVER = os.environ.get("LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "load-test password 1"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
HTMX = {"HX-Request": "true"}
MAX_OPS_PER_CLIENT = 100_000  # a bound on every client's loop besides the clock

TEXT_FIELDS = ("first_name", "last_name", "company", "email", "phone_number", "note", "tax_number", "city")
BOOL_FIELDS = ("is_vip", "is_b2b", "is_favourite")
INLINE_FIELDS = ("first_name", "last_name", "company", "email", "phone_number", "is_favourite", "is_vip", "is_b2b")
INLINE_TEXT = ("first_name", "last_name", "company", "email", "phone_number")
# history.diff paths of the fields above
HISTORY_PATH = {"city": "billing_address.city"}

_sequence = itertools.count(1)


def fresh(name: str) -> str:
    """A value for a field that no other write of the run uses."""
    n = next(_sequence)
    return {
        "first_name": f"Fn{n}",
        "last_name": f"Ln{n}",
        "company": f"Co{n}",
        "email": f"e{n}@example.com",
        "phone_number": f"030 {n:07d}",
        "note": f"note {n}",
        "tax_number": f"DE{n:09d}",
        "city": f"City{n}",
    }[name]


# -- the log ---------------------------------------------------------------------------------


@dataclass
class Write:
    kind: str  # create | update | delete
    via: str  # api | page
    customer_id: int | None
    fields: dict[str, Any] = field(default_factory=dict)  # every field this write set
    new: dict[str, str] = field(default_factory=dict)  # the unique values among them
    status: str = "acked"  # acked | unacked | refused
    version: int | None = None  # the version it made (acked)
    name: tuple[str, str] | None = None  # page create whose id was not learnt: its unique name


class Log:
    """Everything the clients did, shared by all of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: list[Write] = []
        self.statuses: Counter[tuple[str, str]] = Counter()  # (operation, status or error)
        self.unexpected: list[str] = []
        self.requests = 0
        self.dropped = 0
        self.conflict_views = 0
        self.ids: list[int] = []  # customers the clients work on

    def write(self, w: Write) -> None:
        with self.lock:
            self.writes.append(w)
            if w.status == "acked" and w.kind == "create" and w.customer_id is not None:
                self.ids.append(w.customer_id)

    def count(self, operation: str, status: str, expected: bool, detail: str = "") -> None:
        with self.lock:
            self.statuses[(operation, status)] += 1
            if not expected and len(self.unexpected) < 200:
                self.unexpected.append(f"{operation} -> {status} {detail}".strip())

    def pick(self, rng: random.Random) -> int | None:
        with self.lock:
            if not self.ids:
                return None
            if rng.random() < 0.7:  # most traffic on recent customers: real contention
                return rng.choice(self.ids[-40:])
            return rng.choice(self.ids)

    def forget(self, customer_id: int) -> None:
        with self.lock:
            if customer_id in self.ids:
                self.ids.remove(customer_id)


class Dropped(Exception):
    """The request got no answer."""


class NotSignedIn(Exception):
    """Signing in failed (already counted); the page operation is skipped."""


@dataclass
class Context:
    base_url: str
    token: str
    email: str
    log: Log
    deadline: float
    crash: bool
    server_up: threading.Event


def _status_ok(operation: str, status: int) -> bool:
    return status in EXPECTED.get(operation, ())


EXPECTED: dict[str, tuple[int, ...]] = {
    "api.list": (200,),
    "api.search": (200,),
    "api.get": (200, 404),
    "api.create": (201,),
    "api.update": (200, 404),
    "api.update_if_match": (200, 404, 412),
    "api.delete": (200, 404),
    "api.delete_if_match": (200, 404, 412),
    "page.login": (303,),
    "page.login_form": (200,),
    "page.list": (200,),
    "page.row_edit": (200, 404),
    "page.row_save": (200, 404),
    "page.overwrite": (200, 404),
    "page.create": (303,),
    "page.created_list": (200,),
    "page.delete": (200, 404),
}


def call(ctx: Context, client: httpx.Client, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, counted; Dropped when no answer came."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        with ctx.log.lock:
            ctx.log.dropped += 1
        ctx.log.count(operation, type(exc).__name__, expected=ctx.crash, detail=str(exc)[:120])
        raise Dropped() from exc
    with ctx.log.lock:
        ctx.log.requests += 1
    status = response.status_code
    ctx.log.count(operation, str(status), _status_ok(operation, status), _gist(response.text) if status >= 500 else "")
    return response


def _gist(text: str) -> str:
    """A page's title or its first words, on one line."""
    title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
    return " ".join((title.group(1) if title else text).split())[:160]


def _etag_version(response: httpx.Response) -> int | None:
    match = re.fullmatch(r'W?/?"(\d+)-(\d+)"', response.headers.get("etag", ""))
    return int(match.group(2)) if match else None


# -- HTML forms ------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The fields a browser would submit, per form (action -> [(name, value)])."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._fields = []
            self.forms.append((a.get("action", ""), self._fields))
        elif tag == "input" and self._fields is not None and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._fields.append((a["name"], a.get("value", "on")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None


def form_fields(html: str, action: str) -> list[tuple[str, str]] | None:
    parser = _Forms()
    parser.feed(html)
    return next((fields for act, fields in parser.forms if act == action), None)


# -- one client ------------------------------------------------------------------------------


class Client:
    """A person and an integration at once: an API client and a signed-in page session."""

    def __init__(self, ctx: Context, index: int, seed: int) -> None:
        self.ctx = ctx
        self.index = index
        self.rng = random.Random(seed * 1000 + index)
        self.api = httpx.Client(base_url=ctx.base_url, headers={"Authorization": f"Bearer {ctx.token}"}, timeout=TIMEOUT)
        self.pages = httpx.Client(base_url=ctx.base_url, timeout=TIMEOUT)
        self.signed_in = False
        self.operations = [
            (self.api_list, 8),
            (self.api_search, 6),
            (self.api_get, 12),
            (self.api_create, 14),
            (self.api_update, 22),
            (self.api_update_if_match, 6),
            (self.api_delete, 4),
            (self.api_delete_if_match, 2),
            (self.page_list, 8),
            (self.page_inline_save, 12),
            (self.page_create, 3),
            (self.page_delete, 2),
        ]
        self.weights = [w for _, w in self.operations]

    def close(self) -> None:
        self.api.close()
        self.pages.close()

    def run(self) -> None:
        try:
            for _ in range(3):
                self._step(self.api_create)
            for _ in range(MAX_OPS_PER_CLIENT):
                if time.monotonic() >= self.ctx.deadline:
                    break
                operation = self.rng.choices(self.operations, self.weights)[0][0]
                self._step(operation)
        finally:
            self.close()

    def _step(self, operation) -> None:
        try:
            operation()
        except NotSignedIn:
            time.sleep(self.rng.uniform(0.05, 0.2))
        except Dropped:
            # The server is gone (crash test) or did not answer: wait for it, briefly.
            self.ctx.server_up.wait(timeout=min(5.0, max(0.0, self.ctx.deadline - time.monotonic())))
            time.sleep(self.rng.uniform(0.05, 0.3))
        except Exception as exc:  # noqa: BLE001 - a bug of this script or a malformed answer: counted, not hidden
            self.ctx.log.count(getattr(operation, "__name__", "op"), f"client error {type(exc).__name__}", False, str(exc)[:200])

    # -- API ------------------------------------------------------------------------------

    def api_list(self) -> None:
        call(self.ctx, self.api, "api.list", "GET", "/api/customers/", params={"page": self.rng.randint(1, 3)})

    def api_search(self) -> None:
        term = self.rng.choice(["Fn1", "Ln2", "Co3", "City4", "example", f"e{self.rng.randint(1, 500)}"])
        call(self.ctx, self.api, "api.search", "GET", "/api/customers/", params={"search": term})

    def api_get(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is not None:
            call(self.ctx, self.api, "api.get", "GET", f"/api/customers/{customer_id}")

    def _new_customer(self) -> dict[str, Any]:
        body: dict[str, Any] = {name: fresh(name) for name in ("first_name", "last_name", "company", "email", "phone_number", "city", "note")}
        for name in BOOL_FIELDS:
            body[name] = self.rng.random() < 0.3
        return body

    def api_create(self) -> None:
        body = self._new_customer()
        write = Write("create", "api", None, fields=dict(body), new={k: v for k, v in body.items() if isinstance(v, str)})
        try:
            response = call(self.ctx, self.api, "api.create", "POST", "/api/customers/", json=body)
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        if response.status_code != 201:
            write.status = "unacked"
            self.ctx.log.write(write)
            return
        data = response.json()
        write.customer_id = data["id"]
        write.version = _etag_version(response)
        self._check_answer("api.create", data, body)
        self.ctx.log.write(write)

    def _update_body(self) -> dict[str, Any]:
        names = self.rng.sample(TEXT_FIELDS + BOOL_FIELDS, self.rng.choice((1, 1, 2, 3)))
        return {name: (fresh(name) if name in TEXT_FIELDS else self.rng.random() < 0.5) for name in names}

    def _check_answer(self, operation: str, data: dict[str, Any], body: dict[str, Any]) -> None:
        for name, value in body.items():
            answered = (data.get("billing_address") or {}).get("city") if name == "city" else data.get(name)
            if answered != value:
                self.ctx.log.count(operation, "answer differs from the write", False, f"{name}: sent {value!r}, answered {answered!r}")

    def _put(self, operation: str, customer_id: int, headers: dict[str, str] | None = None) -> None:
        body = self._update_body()
        write = Write("update", "api", customer_id, fields=dict(body), new={k: v for k, v in body.items() if isinstance(v, str)})
        try:
            response = call(self.ctx, self.api, operation, "PUT", f"/api/customers/{customer_id}", json=body, headers=headers)
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        if response.status_code == 200:
            write.version = _etag_version(response)
            self._check_answer(operation, response.json(), body)
        elif response.status_code in (404, 412):
            write.status = "refused"
        else:
            write.status = "unacked"
        self.ctx.log.write(write)

    def api_update(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is not None:
            self._put("api.update", customer_id)

    def api_update_if_match(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is None:
            return
        current = call(self.ctx, self.api, "api.get", "GET", f"/api/customers/{customer_id}")
        if current.status_code == 200:
            time.sleep(self.rng.uniform(0, 0.02))  # a client thinks a moment: others may write meanwhile
            self._put("api.update_if_match", customer_id, {"If-Match": current.headers["etag"]})

    def _delete(self, operation: str, customer_id: int, headers: dict[str, str] | None = None) -> None:
        write = Write("delete", "api", customer_id)
        try:
            response = call(self.ctx, self.api, operation, "DELETE", f"/api/customers/{customer_id}", headers=headers)
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        if response.status_code == 200:
            if self.rng.random() < 0.8:  # some stay known, so that later requests meet a 404
                self.ctx.log.forget(customer_id)
        else:
            write.status = "refused" if response.status_code in (404, 412) else "unacked"
        self.ctx.log.write(write)

    def api_delete(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is not None:
            self._delete("api.delete", customer_id)

    def api_delete_if_match(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is None:
            return
        current = call(self.ctx, self.api, "api.get", "GET", f"/api/customers/{customer_id}")
        if current.status_code == 200:
            time.sleep(self.rng.uniform(0, 0.02))
            self._delete("api.delete_if_match", customer_id, {"If-Match": current.headers["etag"]})

    # -- pages ----------------------------------------------------------------------------

    def _sign_in(self) -> None:
        page = call(self.ctx, self.pages, "page.login_form", "GET", "/login")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        if match is None:
            if page.status_code == 200:
                self.ctx.log.count("page.login_form", "no CSRF token", False)
            raise NotSignedIn()
        token = match.group(1)
        response = call(self.ctx, self.pages, "page.login", "POST", "/login", data={"email": self.ctx.email, "password": PASSWORD, "_csrf_token": token})
        if response.status_code == 303:
            self.pages.headers["x-csrftoken"] = token
            self.signed_in = True

    def _page(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if not self.signed_in:
            self._sign_in()
            if not self.signed_in:
                raise NotSignedIn()
        response = call(self.ctx, self.pages, operation, method, url, **kwargs)
        location = response.headers.get("location", "") + response.headers.get("hx-redirect", "")
        if "/login" in location:
            self.signed_in = False
            self.ctx.log.count(operation, "signed out", False, "the session was lost")
        return response

    def page_list(self) -> None:
        q = self.rng.choice(["", "", "Fn1", "Ln", "Co2", "City3", "example.com"])
        self._page("page.list", "GET", "/customers", params={"q": q, "page": self.rng.choice((1, 1, 2))})

    def page_inline_save(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is None:
            return
        action = f"/customers/{customer_id}/row"
        opened = self._page("page.row_edit", "GET", f"/customers/{customer_id}/row/edit", headers=HTMX)
        if opened.status_code != 200:
            return
        fields = form_fields(opened.text, action)
        if fields is None:
            self.ctx.log.count("page.row_edit", "no inline form", False, opened.text[:200])
            return
        posted = dict(fields)
        changed = self.rng.sample(INLINE_TEXT, self.rng.choice((1, 1, 2)))
        for name in changed:
            posted[name] = fresh(name)
        for name in ("is_favourite", "is_vip", "is_b2b"):
            if self.rng.random() < 0.3:
                posted[name] = "y" if name not in posted else ""
        posted = {k: v for k, v in posted.items() if v != "" or k not in ("is_favourite", "is_vip", "is_b2b")}
        time.sleep(self.rng.uniform(0, 0.05))  # a person types
        self._save_row("page.row_save", customer_id, posted, {name: posted[name] for name in changed}, overwrite_allowed=True)

    def _save_row(self, operation: str, customer_id: int, posted: dict[str, str], new: dict[str, str], overwrite_allowed: bool) -> None:
        action = f"/customers/{customer_id}/row"
        written = {name: (name in posted and posted[name] == "y") if name in BOOL_FIELDS else posted.get(name, "") for name in INLINE_FIELDS}
        write = Write("update", "page", customer_id, fields=written, new=new)
        try:
            response = self._page(operation, "POST", action, data=posted, headers=HTMX)
        except NotSignedIn:
            return
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        text = response.text
        if response.status_code == 200 and "conflict-row" in text and "was changed meanwhile" in text:
            write.status = "refused"
            self.ctx.log.write(write)
            with self.ctx.log.lock:
                self.ctx.log.conflict_views += 1
            if overwrite_allowed and self.rng.random() < 0.5:
                again = form_fields(text, action)
                if again is None:
                    self.ctx.log.count(operation, "conflict view without Overwrite", False)
                    return
                self._save_row("page.overwrite", customer_id, dict(again), new, overwrite_allowed=False)
            return
        if response.status_code == 200 and 'class="saved"' in text:
            # The version it made is not told by the row: a save based on an older version than the row's
            # is merged with the changes made since (app/customers/merge.py, its message only names the
            # fields the row shows), and makes a later one than the version sent plus one. It is checked in
            # the history, and explains the values it wrote.
            write.version = None
            self.ctx.log.write(write)
            return
        if response.status_code == 404:
            write.status = "refused"
        else:
            write.status = "unacked"
            if response.status_code == 200:
                self.ctx.log.count(operation, "200 neither saved nor conflict", False, text[:300])
        self.ctx.log.write(write)

    def page_create(self) -> None:
        body = self._new_customer()
        form = {k: v for k, v in body.items() if k in ("first_name", "last_name", "company", "email", "phone_number", "note") or (k in BOOL_FIELDS and v)}
        form = {k: ("y" if v is True else v) for k, v in form.items()}
        form["billing_address-city"] = body["city"]
        written = dict(body)
        write = Write("create", "page", None, fields=written, new={k: v for k, v in body.items() if isinstance(v, str)}, name=(body["first_name"], body["last_name"]))
        try:
            response = self._page("page.create", "POST", "/customers/", data=form)
        except NotSignedIn:
            return
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        if response.status_code != 303:
            write.status = "unacked"
            self.ctx.log.write(write)
            return
        write.version = 1
        try:
            listed = self._page("page.created_list", "GET", response.headers["location"])
            ids = set(re.findall(r'<tr id="customers-(\d+)"', listed.text))
            if len(ids) == 1:
                write.customer_id = int(ids.pop())
        except (Dropped, NotSignedIn):
            pass
        self.ctx.log.write(write)

    def page_delete(self) -> None:
        customer_id = self.ctx.log.pick(self.rng)
        if customer_id is None:
            return
        write = Write("delete", "page", customer_id)
        try:
            response = self._page("page.delete", "POST", f"/customers/{customer_id}/delete", headers=HTMX)
        except NotSignedIn:
            return
        except Dropped:
            write.status = "unacked"
            self.ctx.log.write(write)
            raise
        if response.status_code == 200 and "Deleted" in response.text:
            self.ctx.log.forget(customer_id)
        else:
            write.status = "refused" if response.status_code == 404 else "unacked"
            if response.status_code == 200:
                self.ctx.log.count("page.delete", "200 without a deletion", False, response.text[:200])
        self.ctx.log.write(write)


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def clientele_command() -> list[str]:
    """The ``clientele`` command of this checkout (run from ROOT, so its own app/ is served)."""
    return [sys.executable, "-m", "app.cli"]


class Server:
    """``clientele run`` with two workers in a process group of its own, which SIGKILL ends at once."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, workers: int = 2) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.up = threading.Event()
        self.kills = 0
        self.down_seconds = 0.0  # from each SIGKILL until the restarted server answered
        self._down_since: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*clientele_command(), "run", "--no-demo", "--workers", str(self.workers), "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not answers(f"{self.url}/login"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {self.log_path}")
            time.sleep(0.1)
        if self._down_since is not None:
            self.down_seconds += time.monotonic() - self._down_since
            self._down_since = None
        self.up.set()

    def kill(self) -> None:
        """SIGKILL to the whole group: the supervisor and its workers die mid-request."""
        self.up.clear()
        if self.process is None:
            return
        self._down_since = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.kills += 1
        self._wait_for_group_gone()

    def stop(self) -> None:
        self.up.clear()
        if self.process is None or self.process.poll() is not None:
            self._kill_leftovers()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _wait_for_group_gone(self) -> None:
        for _ in range(100):
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


# -- databases and accounts ------------------------------------------------------------------


@dataclass
class Target:
    label: str
    database_url: str
    ours: bool  # a database this script created (and may recreate)


def sqlite_target(name: str) -> Target:
    folder = VAR / "sqlite"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Target("sqlite", f"sqlite:///{path}", True)


def postgres_target(name: str, server_url: str = DEFAULT_PG_SERVER) -> Target:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.config import normalise_database_url

    server = make_url(normalise_database_url(server_url))
    if server.host not in ("127.0.0.1", "localhost", "::1", None):
        raise SystemExit("the PostgreSQL server must be on this machine (127.0.0.1)")
    admin = create_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return Target("postgres", server.set(database=name).render_as_string(hide_password=False), True)


def given_target(url: str) -> Target:
    from app.config import normalise_database_url

    url = normalise_database_url(url)
    parts = urlsplit(url.replace("+psycopg", ""))
    if not url.startswith("sqlite") and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the database must be on this machine (127.0.0.1)")
    return Target("sqlite" if url.startswith("sqlite") else "postgres", url, False)


def server_env(target: Target, var_dir: Path, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELE_")}
    env.update(
        DATABASE_URL=target.database_url,
        CLIENTELE_RATE_LIMIT="0",
        CLIENTELE_VAR_DIR=str(var_dir),
        CLIENTELE_SECRET_KEY=secret,
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Credentials:
    account: str
    account_id: int
    email: str
    token: str


def provision(env: dict[str, str]) -> Credentials:
    """A new account, an admin user and an API token, made with the CLI as an operator would."""
    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([*clientele_command(), *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"clientele {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    suffix = secrets.token_hex(4)
    account = f"Load {time.strftime('%Y-%m-%d %H:%M:%S')} {suffix}"
    email = f"load-{suffix}@example.com"
    cli("db", "upgrade")
    cli("accounts", "create", account)
    cli("users", "create", "--account", account, "--email", email, "--role", "admin", stdin=PASSWORD + "\n")
    token = cli("tokens", "create", "--account", account, "--scope", "customers", "--name", "load").strip().splitlines()[-1]
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": account}).scalar_one()
    engine.dispose()
    return Credentials(account, account_id, email, token)


# -- verification -------------------------------------------------------------------------------


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    lost: set[int] = field(default_factory=set)  # indexes of acknowledged writes not found as acknowledged
    refused_applied: int = 0
    checks: dict[str, Any] = field(default_factory=dict)

    def problem(self, text: str, *lost: int) -> None:
        if len(self.problems) < 100:
            self.problems.append(text)
        self.lost.update(lost)


def _state_value(state: dict[str, Any], name: str) -> Any:
    if name == "city":
        return (state.get("billing_address") or {}).get("city", "")
    return state.get(name)


def read_database(database_url: str, account_id: int) -> dict[str, Any]:
    from sqlalchemy import create_engine, select

    from app.accounts.models import Account
    from app.customers.history import CustomerEvent
    from app.customers.models import BILLING, Address, Customer
    from app.customers.trash import TrashedCustomer

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            c = Customer.__table__.c
            names = ("first_name", "last_name", "company", "email", "phone_number", "note", "tax_number", *BOOL_FIELDS)
            rows = conn.execute(select(c.id, c.version, c.account_scoped_id, c.sort_name, c.search_text, c.city, *[c[n] for n in names]).where(c.account_id == account_id)).all()
            a = Address.__table__.c
            billing: dict[int, list[str]] = defaultdict(list)
            for customer_id, city in conn.execute(select(a.customer_id, a.city).where(a.account_id == account_id, a.kind == BILLING)):
                billing[customer_id].append(city)
            t = TrashedCustomer.__table__.c
            trash: dict[int, list[dict[str, Any]]] = defaultdict(list)
            trash_scoped: list[int] = []
            for customer_id, scoped, data in conn.execute(select(t.customer_id, t.account_scoped_id, t.data).where(t.account_id == account_id)):
                trash[customer_id].append(dict(data))
                trash_scoped.append(scoped)
            e = CustomerEvent.__table__.c
            events: dict[int, list[tuple[str, dict]]] = defaultdict(list)
            for customer_id, action, changes in conn.execute(select(e.customer_id, e.action, e.changes).where(e.account_id == account_id).order_by(e.id)):
                events[customer_id].append((action, dict(changes or {})))
            ac = Account.__table__.c
            account = conn.execute(select(ac.customer_seq, ac.customer_count, ac.favourite_count).where(ac.id == account_id)).one()
    finally:
        engine.dispose()
    customers: dict[int, dict[str, Any]] = {}
    for row in rows:
        state = {n: getattr(row, n) for n in names}
        cities = billing.get(row.id, [])
        state["billing_address"] = {"city": cities[0] if cities else None}
        state.update(version=row.version, account_scoped_id=row.account_scoped_id, _billing_count=len(cities),
                     _sort_name=row.sort_name, _search_text=row.search_text, _city=row.city)
        customers[row.id] = state
    return {"customers": customers, "trash": trash, "trash_scoped": trash_scoped, "events": events, "account": account}


def verify(log: Log, database_url: str, account_id: int) -> Verdict:
    """Every acknowledged write against the database; the account's numbers against its rows."""
    from app.customers import search

    db = read_database(database_url, account_id)
    customers, trash, events = db["customers"], db["trash"], db["events"]
    verdict = Verdict()
    writes = log.writes
    acked = [i for i, w in enumerate(writes) if w.status == "acked"]

    # Page creates whose id was not learnt: find them by their unique name.
    by_name: dict[tuple[str, str], int] = {}
    for customer_id, state in customers.items():
        by_name[(state["first_name"], state["last_name"])] = customer_id
    for customer_id, copies in trash.items():
        for data in copies:
            by_name.setdefault((data.get("first_name"), data.get("last_name")), customer_id)
    for i in acked:
        w = writes[i]
        if w.kind == "create" and w.customer_id is None:
            found = by_name.get(w.name)
            if found is None:
                verdict.problem(f"page create {w.name} acknowledged but found nowhere", i)
            else:
                w.customer_id = found

    per_customer: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(writes):
        if w.customer_id is not None:
            per_customer[w.customer_id].append(i)

    # Values of refused writes must appear nowhere, unless a later attempt carried them again (Overwrite).
    carried = {(w.customer_id, n, v) for w in writes if w.status in ("acked", "unacked") for n, v in w.new.items()}
    refused = {(w.customer_id, n, v) for w in writes if w.status == "refused" for n, v in w.new.items()} - carried

    for customer_id, indexes in per_customer.items():
        mine = [writes[i] for i in indexes]
        acked_here = [i for i in indexes if writes[i].status == "acked"]
        if not acked_here:
            continue
        deleted = any(writes[i].kind == "delete" for i in acked_here)
        maybe_deleted = any(w.kind == "delete" and w.status == "unacked" for w in mine)
        live = customers.get(customer_id)
        copies = trash.get(customer_id, [])
        if deleted:
            deletes = [i for i in acked_here if writes[i].kind == "delete"]
            if len(deletes) > 1:
                verdict.problem(f"customer {customer_id}: deleted {len(deletes)} times with 200", *deletes)
            if live is not None:
                verdict.problem(f"customer {customer_id}: delete acknowledged, still in customers", *deletes)
            if len(copies) != 1:
                verdict.problem(f"customer {customer_id}: delete acknowledged, {len(copies)} trash copies", *deletes)
            if not any(action == "delete" for action, _ in events.get(customer_id, [])):
                verdict.problem(f"customer {customer_id}: delete acknowledged, no delete in its history", *deletes)
        if live is None and not copies:
            verdict.problem(f"customer {customer_id}: acknowledged writes, customer found nowhere", *acked_here)
            continue
        if live is None and not deleted and not maybe_deleted:
            verdict.problem(f"customer {customer_id}: in the trash, but no delete was sent", *acked_here)
        state = live if live is not None else copies[-1]
        version = int(state.get("version") or 0)

        # Each acknowledged change made a version of its own: none was written over another.
        versions: dict[int, list[int]] = defaultdict(list)
        for i in acked_here:
            # Only a write with a new value surely changed the row; one that set a flag to what it
            # already was answers the version it found.
            if writes[i].kind != "delete" and writes[i].version is not None and writes[i].new:
                versions[writes[i].version].append(i)
        for v, same in versions.items():
            if len(same) > 1:
                verdict.problem(f"customer {customer_id}: {len(same)} acknowledged writes all made version {v}", *same)
            if v > version:
                verdict.problem(f"customer {customer_id}: a write acknowledged version {v}, the database holds {version}", *same)

        # Every field holds its last acknowledged value, or a value a later unanswered write sent.
        last: dict[str, tuple[int, int]] = {}
        for i in acked_here:
            w = writes[i]
            if w.kind == "delete" or w.version is None:
                continue
            for name in w.fields:
                if name not in last or w.version > last[name][0]:
                    last[name] = (w.version, i)
        for name, (v, i) in last.items():
            expected = writes[i].fields[name]
            actual = _state_value(state, name)
            if actual == expected:
                continue
            # A later unanswered write, or an acknowledged page save (its version unknown), may have set it.
            explained = version > v and any(
                (w.status == "unacked" or (w.status == "acked" and w.kind == "update" and w.version is None))
                and name in w.fields and w.fields[name] == actual for w in mine
            )
            if not explained:
                verdict.problem(f"customer {customer_id}: {name} is {actual!r}, last acknowledged write (version {v}) set {expected!r}", i)

        # Every acknowledged change is in the history, value by value.
        history = events.get(customer_id, [])
        for i in acked_here:
            w = writes[i]
            if w.kind == "create":
                if not any(action == "create" for action, _ in history):
                    verdict.problem(f"customer {customer_id}: create acknowledged, not in its history", i)
            elif w.kind == "update":
                wanted = {HISTORY_PATH.get(n, n): v for n, v in w.new.items()}
                if wanted and not any(
                    action == "update" and all(n in changes and changes[n][1] == v for n, v in wanted.items()) for action, changes in history
                ):
                    verdict.problem(f"customer {customer_id}: update {wanted} acknowledged, not in its history", i)

    # Refused writes left no trace: not in the history, not in the rows.
    applied: set[tuple[int, str, Any]] = set()
    for customer_id, history in events.items():
        for _action, changes in history:
            for path, change in changes.items():
                name = "city" if path == "billing_address.city" else path
                key = (customer_id, name, change[1] if isinstance(change, list) and len(change) > 1 else None)
                if key in refused and key not in applied:
                    applied.add(key)
                    verdict.problem(f"customer {customer_id}: a refused write's {name}={key[2]!r} is in the history")
    for customer_id, state in [*customers.items(), *((cid, c) for cid, copies in trash.items() for c in copies)]:
        for name in TEXT_FIELDS:
            key = (customer_id, name, _state_value(state, name))
            if key in refused and key not in applied:
                applied.add(key)
                verdict.problem(f"customer {customer_id}: holds a refused write's {name}={key[2]!r}")
    verdict.refused_applied = len(applied)

    # The account's own numbers.
    seq, count, favourites = db["account"]
    scoped = [s["account_scoped_id"] for s in customers.values()] + db["trash_scoped"]
    checks = verdict.checks
    checks["customers"] = len(customers)
    checks["trashed"] = len(db["trash_scoped"])
    checks["customer_count counter"] = "ok" if count == len(customers) else f"WRONG: {count} kept, {len(customers)} rows"
    real_favourites = sum(1 for s in customers.values() if s["is_favourite"])
    checks["favourite_count counter"] = "ok" if favourites == real_favourites else f"WRONG: {favourites} kept, {real_favourites} rows"
    checks["account_scoped_id unique and gap-free"] = (
        "ok" if sorted(scoped) == list(range(1, seq + 1)) else f"WRONG: {len(scoped)} numbers, {len(set(scoped))} distinct, last handed out {seq}"
    )
    bad_billing = [cid for cid, s in customers.items() if s["_billing_count"] != 1]
    checks["one billing address each"] = "ok" if not bad_billing else f"WRONG: {len(bad_billing)} customers"
    stale = [
        cid for cid, s in customers.items()
        if s["_sort_name"] != search.sort_name(s["first_name"], s["last_name"], s["company"])
        or s["_city"] != (s["billing_address"]["city"] or "")
        or s["_search_text"] != search.search_text(s["first_name"], s["last_name"], s["company"], s["email"], s["phone_number"], s["_city"])
    ]
    checks["search text and sort name current"] = "ok" if not stale else f"WRONG: {len(stale)} customers"
    for name, value in checks.items():
        if isinstance(value, str) and value.startswith("WRONG"):
            verdict.problem(f"{name}: {value}")
    return verdict


def integrity(target: Target) -> dict[str, str]:
    """The database's own consistency checks."""
    from sqlalchemy import create_engine, text

    results: dict[str, str] = {}
    engine = create_engine(target.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            if target.label == "sqlite":
                rows = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                results["PRAGMA integrity_check"] = "ok" if rows == ["ok"] else "WRONG: " + "; ".join(rows[:5])
                broken = conn.execute(text("PRAGMA foreign_key_check")).all()
                results["PRAGMA foreign_key_check"] = "ok" if not broken else f"WRONG: {len(broken)} rows"
                try:
                    conn.execute(text("INSERT INTO customers_fts(customers_fts) VALUES ('integrity-check')"))
                    conn.commit()
                    results["FTS integrity-check"] = "ok"
                except Exception as exc:  # noqa: BLE001 - the check reports by raising
                    results["FTS integrity-check"] = f"WRONG: {exc}"[:300]
            else:
                orphans = conn.execute(text("SELECT count(*) FROM addresses a LEFT JOIN customers c ON c.id = a.customer_id WHERE c.id IS NULL")).scalar()
                results["addresses without customer"] = "ok" if orphans == 0 else f"WRONG: {orphans}"
                counters = conn.execute(text(
                    "SELECT count(*) FROM accounts a WHERE a.customer_count <> (SELECT count(*) FROM customers c WHERE c.account_id = a.id) "
                    "OR a.favourite_count <> (SELECT count(*) FROM customers c WHERE c.account_id = a.id AND c.is_favourite)"
                )).scalar()
                results["counters of every account"] = "ok" if counters == 0 else f"WRONG: {counters} accounts"
                try:
                    if target.ours:
                        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
                    indexes = conn.execute(text(
                        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE am.amname = 'btree' AND n.nspname = 'public'"
                    )).scalars().all()
                    for index in indexes:
                        conn.execute(text("SELECT bt_index_check(CAST(:i AS regclass), true)"), {"i": index})
                    results["amcheck bt_index_check (heapallindexed)"] = f"ok ({len(indexes)} indexes)"
                except Exception as exc:  # noqa: BLE001
                    results["amcheck bt_index_check (heapallindexed)"] = f"WRONG or unavailable: {exc}"[:300]
                conn.commit()
    finally:
        engine.dispose()
    return results


# -- a run ----------------------------------------------------------------------------------------


def run_clients(ctx: Context, clients: int, seed: int) -> float:
    threads = []
    started = time.monotonic()
    for index in range(clients):
        client = Client(ctx, index, seed)
        thread = threading.Thread(target=client.run, name=f"client-{index}", daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, ctx.deadline - time.monotonic()) + 90)
    return time.monotonic() - started


def crash_supervisor(server: Server, deadline: float, rng: random.Random, stop: threading.Event, kills: list[float]) -> None:
    """SIGKILL the server every 10-15 s and start it again; a last SIGKILL just before the
    end, while the clients are still writing, after which it stays down."""
    while not stop.is_set():
        wait = rng.uniform(10, 15)
        if time.monotonic() + wait > deadline - 5:
            break
        if stop.wait(wait):
            return
        server.kill()
        kills.append(time.monotonic())
        time.sleep(rng.uniform(0.2, 1.0))  # down for a moment: clients meet refused connections
        server.start()
    if not stop.wait(max(0.0, deadline - 0.5 - time.monotonic())):
        server.kill()
        kills.append(time.monotonic())


def dump(log: Log, path: Path) -> None:
    """Every write attempt of the run, one JSON object a line, for a look afterwards."""
    import json
    from dataclasses import asdict

    with path.open("w") as out:
        for w in log.writes:
            out.write(json.dumps(asdict(w)) + "\n")
    print(f"writes logged to     {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def summary(label: str, log: Log, elapsed: float, verdict: Verdict, extra: dict[str, str], kills: int | None, down: float = 0.0) -> bool:
    acked = [w for w in log.writes if w.status == "acked"]
    by_kind = Counter(f"{w.via} {w.kind}" for w in acked)
    unacked = sum(1 for w in log.writes if w.status == "unacked")
    refused = Counter(w.kind for w in log.writes if w.status == "refused")
    expected_errors: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    no_answer: Counter[str] = Counter(status for (_, status), n in log.statuses.items() for _ in range(n) if status[:1].isupper())
    for (operation, status), n in log.statuses.items():
        if status.isdigit():
            code = int(status)
            if code < 400 and _status_ok(operation, code):
                continue
            (expected_errors if _status_ok(operation, code) else unexpected)[f"{status} {operation}"] += n
        elif status[:1].isupper() and kills is not None:  # no answer while the server was being killed
            continue
        else:
            unexpected[f"{status} ({operation})"] += n
    print(f"\n== {label} ==")
    print(f"requests served      {log.requests}  ({log.requests / max(elapsed, 0.001):.0f} req/s over {elapsed:.0f} s)")
    if kills is not None:
        print(f"server SIGKILLed     {kills} times (down {down:.0f} s in all, restarts included); requests without an answer: {log.dropped}"
              + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(no_answer.items()))})" if no_answer else ""))
    print("expected refusals    " + (", ".join(f"{k}: {v}" for k, v in sorted(expected_errors.items())) or "none")
          + f"; conflict views: {log.conflict_views}")
    print(f"unexpected errors    {sum(unexpected.values())}" + ("" if not unexpected else "  " + ", ".join(f"{k}: {v}" for k, v in sorted(unexpected.items()))))
    for line in log.unexpected[:10]:
        print(f"    {line}")
    print(f"writes acknowledged  {len(acked)}  ({', '.join(f'{k}: {v}' for k, v in sorted(by_kind.items()))})")
    print(f"writes refused       {sum(refused.values())} (404/412/conflict; their values must not appear: {verdict.refused_applied} did)")
    print(f"writes unanswered    {unacked}")
    for name, value in {**verdict.checks, **extra}.items():
        print(f"check                {name}: {value}")
    print(f"writes lost          {len(verdict.lost)}")
    for line in verdict.problems[:20]:
        print(f"    {line}")
    bad_extra = any(isinstance(v, str) and v.startswith("WRONG") for v in extra.values())
    ok = not verdict.lost and not verdict.problems and not unexpected and not bad_extra and verdict.refused_applied == 0
    print("RESULT               " + ("OK" if ok else "FAILED"))
    return ok


def run(target: Target, url: str | None, seconds: float, clients: int, crash: bool, seed: int) -> bool:
    var_dir = VAR / target.label
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    env = server_env(target, var_dir, secret)
    print(f"[{target.label}] database {target.database_url}", flush=True)
    credentials = provision(env)
    server: Server | None = None
    if url is None:
        server = Server(env, free_port(), var_dir / ("crash-server.log" if crash else "server.log"))
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        url = server.url
    up = server.up if server else threading.Event()
    if server is None:
        up.set()
    log = Log()
    deadline = time.monotonic() + seconds
    ctx = Context(url, credentials.token, credentials.email, log, deadline, crash, up)
    kills: list[float] = []
    stop = threading.Event()
    supervisor = None
    if crash:
        assert server is not None
        supervisor = threading.Thread(target=crash_supervisor, args=(server, deadline, random.Random(seed), stop, kills), daemon=True)
        supervisor.start()
    print(f"[{target.label}] {clients} clients for {seconds:.0f} s against {url}" + (" with SIGKILLs" if crash else ""), flush=True)
    try:
        elapsed = run_clients(ctx, clients, seed)
    finally:
        stop.set()
        if supervisor is not None:
            supervisor.join(timeout=150)
        if server is not None:
            server.stop()
    verdict = verify(log, target.database_url, credentials.account_id)
    extra = integrity(target)
    ok = summary(f"{'crash' if crash else 'load'} test on {target.label}", log, elapsed, verdict, extra, len(kills) if crash else None, server.down_seconds if server else 0.0)
    dump(log, var_dir / f"{'crash' if crash else 'load'}-writes.jsonl")
    return ok


def main(argv: list[str] | None, crash: bool) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{'crash' if crash else 'loadtest'}",
        description=("Mixed load with the server SIGKILLed and restarted every 10-15 s; then the database's integrity and every acknowledged write are checked."
                     if crash else "Mixed load through the API and the pages; then every acknowledged write is checked in the database."),
    )
    if not crash:
        parser.add_argument("--url", help="a server already running on 127.0.0.1 (needs --database-url, its database); default: start one")
    parser.add_argument("--database-url", help="use this database (a new account in it) instead of a fresh one")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both", help="fresh database(s) to run on (default: both)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_SERVER, help="PostgreSQL server for --db postgres (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    url = getattr(args, "url", None)
    if url:
        if not args.database_url:
            parser.error("--url needs --database-url: the writes are checked in the server's database")
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("only a server on this machine (127.0.0.1) may be loaded")
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 3600:
        parser.error("--clients 1..200, --seconds 1..3600")
    name = "clientele_crash" if crash else "clientele_load"
    if args.database_url:
        targets = [lambda: given_target(args.database_url)]
    else:
        targets = []
        if args.db in ("sqlite", "both"):
            targets.append(lambda: sqlite_target(name))
        if args.db in ("postgres", "both"):
            targets.append(lambda: postgres_target(name, args.pg_url))
    ok = True
    for make in targets:
        ok = run(make(), url, args.seconds, args.clients, crash, args.seed) and ok
    return 0 if ok else 1


__all__ = ["main"]
