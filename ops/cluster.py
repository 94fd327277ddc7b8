"""Several app processes behind HAProxy, over PgBouncer and the local PostgreSQL: ``make cluster``.

    python -m ops.cluster [--processes 3] [--workers 1] [--port 8080] [--database-url URL | --sqlite]
    python -m ops.cluster stop

Starts, on 127.0.0.1: PgBouncer in transaction pooling mode (ops/pgbouncer.py) in front of the
PostgreSQL server of ``--database-url`` (default ``postgresql://postgres@127.0.0.1:5432/clientele_cluster``,
created when missing), migrates the database once, starts ``--processes`` ``clientele run`` processes
on ports of their own (the first one creates the demo account on an empty database and prints its
sign-in), then HAProxy on ``--port`` (default: a free one), spreading requests over the processes in
turn. Prints where to open it and how to point ``make load`` at it (start it with CLIENTELE_RATE_LIMIT=0
for that: the load test sends more than a client may), then waits: Ctrl-C, SIGTERM or
``make cluster-stop`` stop everything it started. With ``--sqlite`` the processes share one SQLite
file instead (no PgBouncer).

The processes share the secret key (a session signed by one is good at every other) and believe
X-Forwarded-For from HAProxy (CLIENTELE_TRUSTED_PROXIES). Sessions, CSRF tokens, rate limits and the
customers revision behind the API's list cache are kept in the database, so any process serves any
request. Everything lives in var/cluster/: configuration, logs, the pid file of the running cluster.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ops import pgbouncer
from ops.pgbouncer import free_port

ROOT = pgbouncer.ROOT
FOLDER = ROOT / "var" / "cluster"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/clientele_cluster"
START_TIMEOUT = 60  # seconds for a process to answer
DEMO_URL = re.compile(r"http://\S+/")  # the address the first process prints with the demo sign-in: its own


def install_haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], check=True, env=env)
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(port: int, backends: list[int]) -> str:
    """HTTP on 127.0.0.1:``port``, round robin over the processes, each checked every second."""
    servers = [f"    server app{i} 127.0.0.1:{backend} check inter 1s fall 2 rise 1" for i, backend in enumerate(backends, 1)]
    return "\n".join([
        "global",
        "    maxconn 4096",
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    option forwardfor",  # the client's address in X-Forwarded-For (believed by the processes)
        "    retries 2",
        "    option redispatch",  # a connection refused by a process that went away goes to another
        "frontend clientele",
        f"    bind 127.0.0.1:{port}",
        "    default_backend apps",
        "backend apps",
        "    balance roundrobin",
        "    option httpchk GET /login",
        *servers,
        "",
    ])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def _stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer; the log {log}:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)


class Cluster:
    """HAProxy in front of ``processes`` ``clientele run`` processes on ``database_url``; ``start`` and ``stop``.

    ``env`` is added to each process's environment (which is this one's otherwise)."""

    def __init__(
        self, database_url: str, processes: int = 2, workers: int = 1, port: int = 0, folder: Path = FOLDER,
        env: dict[str, str] | None = None, demo: bool = False,
    ) -> None:
        self.database_url = database_url
        self.processes = processes
        self.workers = workers
        self.port = port or free_port()
        self.folder = folder
        self.env = env or {}
        self.demo = demo
        self.backends: list[int] = []
        self._children: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        """HAProxy's address: where to open the app."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def process_urls(self) -> list[str]:
        """Each process's own address (behind HAProxy's back)."""
        return [f"http://127.0.0.1:{port}" for port in self.backends]

    def _environment(self) -> dict[str, str]:
        secret = self.folder / "secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(48))
            secret.chmod(0o600)
        return {
            **os.environ,
            "CLIENTELE_SECRET_KEY": secret.read_text().strip(),
            "CLIENTELE_VAR_DIR": str(self.folder / "var"),
            "CLIENTELE_TRUSTED_PROXIES": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **self.env,
            "DATABASE_URL": self.database_url,
        }

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
        with log.open("wb") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self._children.append(process)
        return process

    def _app(self, index: int, env: dict[str, str], demo: bool) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        self.backends.append(port)
        log = self.folder / f"app{index}.log"
        argv = [sys.executable, "-m", "app.cli", "run", "--demo" if demo else "--no-demo", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(self.workers)]
        return self._spawn(argv, log, env), f"http://127.0.0.1:{port}/login", log

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        try:
            # Migrated once, before any process starts (each would migrate at its start, all at once).
            subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
            first = self._app(1, env, self.demo)  # alone: the demo account, if any, is made once
            _wait_until_up(*first)
            rest = [self._app(index, env, False) for index in range(2, self.processes + 1)]
            for started in rest:
                _wait_until_up(*started)
            config = self.folder / "haproxy.cfg"
            config.write_text(haproxy_config(self.port, self.backends))
            proxy = self._spawn([install_haproxy(), "-db", "-f", str(config)], self.folder / "haproxy.log", env)
            _wait_until_up(proxy, f"{self.url}/login", self.folder / "haproxy.log")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self._children):  # the proxy first: no request goes to a process that stops
            _stop(process)
        self._children.clear()

    def failed(self) -> subprocess.Popen | None:
        """A started process that has ended, if any."""
        return next((process for process in self._children if process.poll() is not None), None)


@contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist."""
    server = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(server.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": server.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{server.database}"'))
    admin.dispose()
    database = create_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with database.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))  # the load test's index checks (make load)
    database.dispose()


def _serve(args: argparse.Namespace) -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    pid_file = FOLDER / "cluster.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), 0)
            raise SystemExit(f"a cluster already runs (pid {pid_file.read_text().strip()}): make cluster-stop")
        except (ProcessLookupError, ValueError):
            pass
    pid_file.write_text(str(os.getpid()))
    stopping = False

    def _on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    bouncer = None
    try:
        if args.sqlite:
            (FOLDER / "var").mkdir(parents=True, exist_ok=True)
            direct = app_url = f"sqlite:///{FOLDER / 'var' / 'clientele.db'}"
            env = {}
        else:
            direct = args.database_url
            _ensure_database(direct)
            bouncer = pgbouncer.start(FOLDER / "pgbouncer", server=direct)
            app_url = f"{bouncer.url}/{make_url(direct).database}"
            env = {"CLIENTELE_PGBOUNCER": "1"}
        cluster = Cluster(app_url, args.processes, args.workers, args.port, env=env, demo=True)
        cluster.start()
        try:
            demo = (FOLDER / "app1.log").read_text(errors="replace").strip()
            print("\n".join([
                "",
                f"Clientele: {args.processes} processes x {args.workers} worker(s) behind HAProxy" + ("" if args.sqlite else ", over PgBouncer"),
                f"  Open          {cluster.url}/",
                *(f"  process {i}     {url}" for i, url in enumerate(cluster.process_urls, 1)),
                *([f"  PgBouncer     {bouncer.url}/{make_url(direct).database}  (transaction pooling)"] if bouncer else []),
                f"  Database      {direct}",
                f"  Load test     make load LOAD_ARGS=\"--url {cluster.url} --database-url {direct}\"",
                f"  Logs          {FOLDER}/",
                *("  " + DEMO_URL.sub(f"{cluster.url}/", line.strip()) for line in demo.splitlines() if "Back office" in line or "API token" in line),
                "Ctrl-C or `make cluster-stop` stops it.",
                "",
            ]), flush=True)
            while not stopping:
                ended = cluster.failed()
                if ended is not None:
                    print(f"a process of the cluster ended (exit {ended.returncode}): stopping; logs in {FOLDER}/", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        finally:
            cluster.stop()
    finally:
        if bouncer is not None:
            pgbouncer.stop(bouncer.folder)
        pid_file.unlink(missing_ok=True)
    print("cluster stopped", flush=True)
    return 0


def _stop_running() -> int:
    pid_file = FOLDER / "cluster.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        print("no cluster runs", file=sys.stderr)
        return 0
    deadline = time.monotonic() + 60
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    print("cluster stopped" if not pid_file.exists() else f"the cluster (pid {pid}) has not stopped yet")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=("start", "stop"), default="start")
    parser.add_argument("--processes", type=int, default=3, help="clientele run processes (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="HAProxy's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="PostgreSQL database (default: %(default)s)")
    parser.add_argument("--sqlite", action="store_true", help="one SQLite file in var/cluster/ instead of PostgreSQL")
    args = parser.parse_args(argv)
    return _stop_running() if args.action == "stop" else _serve(args)


if __name__ == "__main__":
    sys.exit(main())
