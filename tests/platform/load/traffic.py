"""The clients of a load run: each is a person and an integration at once, an API
client and a signed-in page session, drawing weighted operations until the
deadline. Every answer is counted in the Log; every write attempt is logged."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.htmlforms import forms
from tests.platform.load.databases import PASSWORD
from tests.platform.load.log import BOOL_FIELDS, INLINE_FIELDS, INLINE_TEXT, TEXT_FIELDS, Log, Write, fresh, page_name, status_ok

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
HTMX = {"HX-Request": "true"}
MAX_OPS_PER_CLIENT = 100_000  # a bound on every client's loop besides the clock


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
    ctx.log.count(operation, str(status), status_ok(operation, status), _gist(response.text) if status >= 500 else "")
    return response


def _gist(text: str) -> str:
    """A page's title or its first words, on one line."""
    title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
    return " ".join((title.group(1) if title else text).split())[:160]


def _etag_version(response: httpx.Response) -> int | None:
    match = re.fullmatch(r'W?/?"(\d+)-(\d+)"', response.headers.get("etag", ""))
    return int(match.group(2)) if match else None

def form_fields(html: str, action: str) -> list[tuple[str, str]] | None:
    """What a browser would submit with the page's form that posts to ``action``."""
    return next((form.fields for form in forms(html) if form.action == action), None)


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

    def _step(self, operation: Callable[[], None]) -> None:
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
            posted[page_name(name)] = fresh(name)
        for name in ("is_favourite", "is_vip", "is_b2b"):
            if self.rng.random() < 0.3:
                posted[name] = "y" if name not in posted else ""
        posted = {k: v for k, v in posted.items() if v != "" or k not in ("is_favourite", "is_vip", "is_b2b")}
        time.sleep(self.rng.uniform(0, 0.05))  # a person types
        self._save_row("page.row_save", customer_id, posted, {name: posted[page_name(name)] for name in changed}, overwrite_allowed=True)

    def _save_row(self, operation: str, customer_id: int, posted: dict[str, str], new: dict[str, str], overwrite_allowed: bool) -> None:
        action = f"/customers/{customer_id}/row"
        written = {name: (name in posted and posted[name] == "y") if name in BOOL_FIELDS else posted.get(page_name(name), "") for name in INLINE_FIELDS}
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
        form = {page_name(k): v for k, v in body.items() if k in ("first_name", "last_name", "company", "email", "phone_number", "note") or (k in BOOL_FIELDS and v)}
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
