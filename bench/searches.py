"""Search as people type it, over HTTP, and the same searches in the peers (part of `make bench`).

The terms are those `bench/search_kinds.py` draws from the seeded data (fixed seed, ten of each kind).

1. Kinds. `clientele run` with its API list memory off (`CLIENTELE_API_CACHE_ENTRIES=0`: every API
   search reads the database, each term is cold there). For every order the list page offers (each
   sortable column, ascending and descending) and for the API (one order), each term is requested
   `repeat` times and its median kept; before each term, one request of the same list without a
   search (the reference: the plain list page in that order, or the plain API list), so that the
   reference is measured alongside, under the same load. Per kind: the median term and the worst
   term, in ms and as ratios to the reference.
2. Peers. SQLAdmin and starlette-admin (`bench/peers/app.py`, their own virtual environment
   `var/peers-venv`) over the same database, beside the same `clientele run`. In rounds, one request
   to each server in turn on the same lean client (`bench/wire.py`): the plain list, then each
   last-name term. A peer's search that takes over a second is not repeated.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.cases import Session
from bench.common import ROOT, Server, Target, clientele_server, free_port
from bench.search_kinds import KINDS, SEED
from bench.wire import WireClient

MEDIAN_RATIO = 1.5  # a kind's median term, against the plain list
WORST_RATIO = 4.0  # a kind's worst term, against the plain list
PEER_RATIO = 20.0  # the fastest peer's last-name search, against ours
PEERS_VENV = ROOT / "var" / "peers-venv"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
PEER_LIST = "/admin/customer/list"
# The list URL and the search parameter of each peer (what its search box sends).
PEERS = {"sqladmin": (PEER_LIST, "search"), "starlette-admin": (PEER_LIST, "q")}
PEER_PACKAGES = {"sqladmin": "sqladmin", "starlette-admin": "starlette-admin"}
SLOW_MS = 1_000.0


def page_orders() -> list[tuple[str, bool]]:
    """Every order the customers list offers: each sortable column, ascending and descending."""
    from app.customers.pages import CUSTOMERS

    return [(sort, descending) for sort in CUSTOMERS.sorts for descending in (False, True)]


def order_label(sort: str, descending: bool) -> str:
    return f"{sort} {'↓' if descending else '↑'}"


def page_path(term: str, sort: str = "", descending: bool = False) -> str:
    params = {"q": term, "sort": sort, "dir": "desc" if descending else ""}
    query = urlencode({k: v for k, v in params.items() if v})
    return "/customers" + (f"?{query}" if query else "")


def api_path(term: str) -> str:
    return "/api/customers/" + (f"?{urlencode({'search': term})}" if term else "")


class Timer:
    """Timed GETs on one lean keep-alive connection; any answer but 200 stops the benchmark."""

    def __init__(self, wire: WireClient, headers: dict[str, str] | None = None) -> None:
        self.wire, self.headers = wire, headers or {}
        self.last = b""

    def __call__(self, path: str) -> float:
        start = time.perf_counter()
        response = self.wire.get(path, headers=self.headers)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
        self.last = response.content
        return elapsed

    def runs(self, path: str, repeat: int) -> float:
        """The median of ``repeat`` requests (one when the first takes over a second)."""
        times = [self(path)]
        while len(times) < repeat and times[0] <= SLOW_MS:
            times.append(self(path))
        return statistics.median(times)


def kinds_table(timer: Timer, path: Callable[[str], str], terms: dict[str, list[str]], repeat: int) -> dict[str, Any]:
    """Per kind, the median and the worst term; the plain list (``path("")``) once before every term."""
    reference: list[float] = []
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        times: list[tuple[float, str]] = []
        for term in terms[kind]:
            reference.append(timer(path("")))
            times.append((timer.runs(path(term), repeat), term))
        worst = max(times)
        kinds[kind] = {"median": statistics.median(t for t, _ in times), "worst": worst[0], "worst_term": worst[1], "terms": len(times)}
    return {"reference": statistics.median(reference), "kinds": kinds}


def _warm(timer: Timer, paths: list[str], times: int = 3) -> None:
    for _ in range(times):
        for path in paths:
            timer(path)


def measure_kinds(server: Server, ctx: dict[str, Any], repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    terms = ctx["terms"]
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        session = Session(client, ctx["token"], ctx["email"], ctx["password"])
        page_wire = WireClient(server.base_url, session.cookie_header())
        api_wire = WireClient(server.base_url, timeout=120)
    pages, api = Timer(page_wire), Timer(api_wire, session.api_headers)
    try:
        out: dict[str, Any] = {"pages": {}, "repeat": repeat}
        for sort, descending in page_orders():
            label = order_label(sort, descending)
            _warm(pages, [page_path("", sort, descending)])
            out["pages"][label] = table = kinds_table(pages, lambda term, s=sort, d=descending: page_path(term, s, d), terms, repeat)
            log(f"    pages {label:11} list {table['reference']:7.2f} ms; "
                + ", ".join(f"{k} {v['median'] / table['reference']:.1f}×/{v['worst'] / table['reference']:.1f}×" for k, v in table["kinds"].items()))
        _warm(api, [api_path("")])
        out["api"] = table = kinds_table(api, api_path, terms, repeat)
        log(f"    API (cold)  list {table['reference']:7.2f} ms; "
            + ", ".join(f"{k} {v['median'] / table['reference']:.1f}×/{v['worst'] / table['reference']:.1f}×" for k, v in table["kinds"].items()))
        return out
    finally:
        page_wire.close()
        api_wire.close()


# -- peers ---------------------------------------------------------------------


def peer_server(target: Target, peer: str) -> Server:
    port = free_port()
    args = [str(PEERS_PYTHON), "-m", "uvicorn", "bench.peers.app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = {**target.env(), "BENCH_PEER": peer, "BENCH_PEER_DATABASE_URL": target.database_url}
    return Server(peer, args, env, port, target.var_dir / f"{peer}.log", "/admin/")


def peer_versions() -> dict[str, str]:
    code = "import importlib.metadata as m, sys; print(' '.join(m.version(p) for p in sys.argv[1:]))"
    names = [*PEER_PACKAGES.values(), "SQLAlchemy", "starlette", "uvicorn"]
    out = subprocess.run([str(PEERS_PYTHON), "-c", code, *names], capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(names, out))


TOTAL = re.compile(rb"of\s+([\d,]+)\s+(?:items|entries)")


def _total(content: bytes) -> int | None:
    match = TOTAL.search(content)
    return int(match.group(1).replace(b",", b"")) if match else None


def measure_peers(ours: Server, peers: dict[str, Server], ctx: dict[str, Any], repeat: int) -> dict[str, Any]:
    """The plain list and each last-name term, in rounds over our list page and each peer's."""
    terms = ctx["terms"]["last name"]
    with httpx.Client(base_url=ours.base_url, timeout=120) as client:
        session = Session(client, ctx["token"], ctx["email"], ctx["password"])
        cookies = session.cookie_header()
    wires = {"clientele": WireClient(ours.base_url, cookies, timeout=600)}
    wires.update({name: WireClient(server.base_url, timeout=600) for name, server in peers.items()})
    timers = {name: Timer(wire) for name, wire in wires.items()}

    def path(name: str, term: str) -> str:
        if name == "clientele":
            return page_path(term)
        url, param = PEERS[name]
        return url + (f"?{urlencode({param: term})}" if term else "")

    try:
        for name, timer in timers.items():
            _warm(timer, [path(name, "")])
        lists: dict[str, list[float]] = {name: [] for name in timers}
        searches: dict[str, list[tuple[float, str]]] = {name: [] for name in timers}
        totals: dict[str, dict[str, int | None]] = {name: {} for name in timers}
        for _ in range(repeat):
            for name, timer in timers.items():
                lists[name].append(timer(path(name, "")))
                totals[name][""] = _total(timer.last)
        for term in terms:
            for name, timer in timers.items():
                searches[name].append((timer.runs(path(name, term), repeat), term))
                totals[name][term] = _total(timer.last)
        for name in peers:  # the peer really searched: fewer rows than its plain list
            plain, found = totals[name][""], totals[name][terms[0]]
            if plain is None or found is None or found >= plain:
                raise RuntimeError(f"{name}: the search for {terms[0]!r} found {found} of {plain} rows: not a search")
        return {
            name: {
                "list": statistics.median(lists[name]),
                "median": statistics.median(t for t, _ in searches[name]),
                "worst": max(searches[name])[0],
                "worst_term": max(searches[name])[1],
                "hits": totals[name].get(terms[0]),
            }
            for name in timers
        }
    finally:
        for wire in wires.values():
            wire.close()


def run(target: Target, ctx: dict[str, Any], repeat: int, peers: bool, start: Callable[[Server], Server],
        stop: Callable[[Server], None], log: Callable[[str], None]) -> dict[str, Any]:
    """Both phases on one database, against a `clientele run` with its API list memory off."""
    server = start(clientele_server(target, env={"CLIENTELE_API_CACHE_ENTRIES": "0"}, note=", API list memory off"))
    out: dict[str, Any] = {"seed": SEED, "terms": ctx["terms"]}
    try:
        log(f"  searches per kind of term ({sum(map(len, ctx['terms'].values()))} terms drawn with seed {SEED}), "
            f"pages in every order and the API (cold), {repeat} requests a term")
        out["kinds"] = measure_kinds(server, ctx, repeat, log)
        if not peers:
            out["peers_skipped"] = "not asked for (--no-peers)"
        elif not PEERS_PYTHON.exists():
            out["peers_skipped"] = f"no {PEERS_VENV.relative_to(ROOT)} (make bench-peers-venv)"
        else:
            log("  peers: the plain list and the last-name search in SQLAdmin and starlette-admin, beside ours")
            running = {name: start(peer_server(target, name)) for name in PEERS}
            try:
                out["peers"] = measure_peers(server, running, ctx, repeat)
            finally:
                for peer in running.values():
                    stop(peer)
            out["peer_versions"] = peer_versions()
            for name, row in out["peers"].items():
                log(f"    {name:16} list {row['list']:9.2f} ms, last name median {row['median']:9.2f} ms, "
                    f"worst {row['worst']:9.2f} ms ({row['worst_term']!r})")
        if "peers_skipped" in out:
            log(f"  peers skipped: {out['peers_skipped']}")
    finally:
        stop(server)
    return out
