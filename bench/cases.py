"""What the benchmark requests: the cases, and signing in to the back office.

The same definitions drive the latency client (over HTTP, against `clientele
run`) and the floor capture (in-process, through Litestar's TestClient), so
both run the very same requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bench.search_kinds import KINDS

PAGE_MS = 10.0  # list, favourites, last page, detail
SEARCH_MS = 15.0  # every search
P99_RATIO = 3.0
PAGE_SLACK_MS = 3.0  # a page may take its SQL floor + its rendering + this


@dataclass
class Case:
    key: str
    label: str
    kind: str  # "page" | "write" | "api"
    target_ms: float | None
    method: str
    path: Callable[[int], str]
    form: Callable[[int], dict[str, str]] | None = None
    htmx: bool = False
    expect: int = 200
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def floor_target(self) -> bool:
        """Whether "within 3 ms of the SQL floor plus rendering" applies (pages only)."""
        return self.kind == "page"


def build_cases(ctx: dict[str, Any]) -> list[Case]:
    """The cases for one seeded database, from the context that `bench.run` prepared."""
    ids: list[int] = ctx["detail_ids"]
    edit = ctx["edit"]

    def detail(i: int) -> str:
        return f"/customers/{ids[i % len(ids)]}/edit"

    def api_detail(i: int) -> str:
        return f"/api/customers/{ids[i % len(ids)]}"

    def inline_form(i: int) -> dict[str, str]:
        data = {k: edit[k] for k in ("first_name", "last_name", "email", "phone_number")}
        # Alternate the company so that every save really writes (and re-indexes the search text).
        data["company"] = edit["companies"][i % 2]
        for flag in ("is_favourite", "is_vip", "is_b2b"):
            if edit[flag]:
                data[flag] = "y"
        return data

    q = lambda term: quote(term, safe="")
    # One search a kind of term: the first of the kind's terms drawn from the data (bench/search_kinds.py);
    # every drawn term, in every order, is measured by bench/searches.py.
    firsts = [(kind, re.sub(r"\W+", "_", kind).strip("_"), ctx["terms"][kind][0]) for kind in KINDS]
    return [
        Case("list", "list page", "page", PAGE_MS, "GET", lambda i: "/customers"),
        *[Case(f"search_{slug}", f"search, {kind} `{term}`", "page", SEARCH_MS, "GET", lambda i, t=term: f"/customers?q={q(t)}")
          for kind, slug, term in firsts],
        Case("favourites", "favourites filter", "page", PAGE_MS, "GET", lambda i: "/customers?favourites=1"),
        Case("last_page", f"last page (page {ctx['last_page']:,})", "page", PAGE_MS, "GET", lambda i: f"/customers?page={ctx['last_page']}"),
        Case("detail", "detail page (`/customers/{id}/edit`)", "page", PAGE_MS, "GET", detail),
        Case("inline_save", "inline-edit save (htmx POST)", "write", None, "POST", lambda i: f"/customers/{edit['id']}/row",
             form=inline_form, htmx=True),
        Case("api_list", "API list", "api", PAGE_MS, "GET", lambda i: "/api/customers/"),
        Case("api_favourites", "API favourites", "api", PAGE_MS, "GET", lambda i: "/api/customers/favourites"),
        Case("api_middle_offset", f"API middle page by offset (`page={ctx['middle_page']:,}`)", "api", None, "GET",
             lambda i: f"/api/customers/?page={ctx['middle_page']}"),
        Case("api_middle_after", "API middle page by keyset (`after=`)", "api", PAGE_MS, "GET",
             lambda i: f"/api/customers/?after={ctx['middle_after']}"),
        Case("api_detail", "API detail", "api", PAGE_MS, "GET", api_detail),
        *[Case(f"api_search_{slug}", f"API search, {kind} `{term}`", "api", SEARCH_MS, "GET",
               lambda i, t=term: f"/api/customers/?search={q(t)}") for kind, slug, term in firsts],
    ]


class Session:
    """A signed-in back-office session and an API token, on any httpx client
    (a real one over HTTP, or Litestar's TestClient in-process)."""

    def __init__(self, client: httpx.Client, token: str, email: str | None = None, password: str | None = None) -> None:
        self.client = client
        self.token = token
        self.api_headers = {"Authorization": f"Bearer {token}"}
        self.csrf = ""
        if email is not None:
            self._login(email, password or "")

    def _login(self, email: str, password: str) -> None:
        client = self.client
        page = client.get("/login")
        page.raise_for_status()
        csrf = _hidden(page.text, "_csrf_token")
        answer = client.post(
            "/login", data={"email": email, "password": password, "next": "/customers", "_csrf_token": csrf}, follow_redirects=False
        )
        if answer.status_code != 303:
            raise RuntimeError(f"login failed: {answer.status_code} {answer.text[:300]}")
        listing = client.get("/customers")
        listing.raise_for_status()
        match = re.search(r'"x-csrftoken":\s*"([^"]+)"', listing.text)
        self.csrf = match.group(1) if match else _hidden(listing.text, "_csrf_token")

    def parts(self, case: Case, i: int) -> tuple[str, dict[str, str], dict[str, str] | None]:
        """The path, headers (beyond the client's cookies) and form of request ``i`` of a case."""
        path = case.path(i)
        if path.startswith("/api/"):
            return path, self.api_headers, None
        headers = {}
        if case.htmx:
            headers.update({"hx-request": "true", "x-csrftoken": self.csrf, "referer": str(self.client.base_url) + "/customers"})
        return path, headers, case.form(i) if case.form is not None else None

    def request(self, case: Case, i: int) -> httpx.Response:
        path, headers, form = self.parts(case, i)
        return self.client.request(case.method, path, data=form, headers=headers, follow_redirects=False)

    def cookie_header(self) -> dict[str, str]:
        """The sign-in's cookies as a header, for a client without a cookie jar (bench/wire.py)."""
        cookies = "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())
        return {"Cookie": cookies} if cookies else {}


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"\s+value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"\s+name="{re.escape(name)}"', html
    )
    if not match:
        raise RuntimeError(f"no hidden input {name!r} in the page")
    return match.group(1)
