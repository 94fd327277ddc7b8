"""Shared helpers of the benchmark: paths, databases, processes, statistics."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

import tests.server
from tests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLIENTELE = VENV_BIN / "clientele"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# BENCH_PG_DATABASE: another database name, so that two checkouts on one server do not share one.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "clientele_bench")
ACCOUNT = "Bench"
USER_EMAIL = "bench@example.com"
# A fixed password for a local benchmark database that only this script uses.
USER_PASSWORD = "bench-password-1234"
DEFAULT_CUSTOMERS = 1_000_000
# Sequential benchmark requests far exceed the default 20 requests a second per
# user/token. A huge limit keeps the limiter's statement in every request
# (what production pays) without ever refusing one.
RATE_LIMIT = "1000000000"


@dataclass(frozen=True)
class Target:
    """One database to benchmark: where it lives and how the app reaches it."""

    db: str  # "sqlite" | "postgresql"
    customers: int

    @property
    def suffix(self) -> str:
        return "" if self.customers == DEFAULT_CUSTOMERS else f"-{self.customers}"

    @property
    def var_dir(self) -> Path:
        return ROOT / "var" / "bench" / f"{self.db}{self.suffix}"

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "clientele.db"

    @property
    def pg_database(self) -> str:
        return PG_DATABASE if not self.suffix else f"{PG_DATABASE}_{self.customers}"

    @property
    def database_url(self) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{PG_SERVER}/{self.pg_database}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            CLIENTELE_VAR_DIR=str(self.var_dir),
            CLIENTELE_RATE_LIMIT=RATE_LIMIT,
            PYTHONUNBUFFERED="1",
        )
        env.pop("CLIENTELE_PORT", None)
        env.pop("CLIENTELE_HOST", None)
        return env

    def raw_connect(self):
        """A plain DBAPI connection (no SQLAlchemy), autocommit on PostgreSQL."""
        if self.db == "sqlite":
            import sqlite3

            conn = sqlite3.connect(self.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            return conn
        import psycopg

        return psycopg.connect(self.database_url, autocommit=True, prepare_threshold=None)

    @property
    def placeholder(self) -> str:
        return "?" if self.db == "sqlite" else "%s"


class Server:
    """A server subprocess in its own process group, always stopped by `stop()`."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, log: Path, ready_path: str) -> None:
        self.name, self.args, self.env, self.port, self.log, self.ready_path = name, args, env, port, log, ready_path
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = tests.server.start(self.args, self.env, self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.base_url + self.ready_path, timeout=2).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout} s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after 10 s; no worker of `--workers N` is left."""
        if self.proc is not None:
            tests.server.stop(self.proc, timeout=10)
        self.proc = None


def clientele_server(target: Target, workers: int = 1, env: dict[str, str] | None = None, note: str = "") -> Server:
    port = free_port()
    args = [str(CLIENTELE), "run", "--port", str(port), "--no-demo"]
    if workers != 1:
        args += ["--workers", str(workers)]
    return Server(f"clientele run ({target.db}, {workers} worker{'s' if workers > 1 else ''}{note})", args,
                  {**target.env(), **(env or {})}, port, target.var_dir / "server.log", "/login")


def bare_server(target: Target, body_path: Path, workers: int = 1) -> Server:
    port = free_port()
    env = dict(os.environ, BENCH_BARE_BODY=str(body_path))
    args = [str(VENV_BIN / "python"), "-m", "uvicorn", "bench.bare_app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return Server(f"bare Litestar ({workers} worker{'s' if workers > 1 else ''})", args, env, port,
                  target.var_dir / "bare.log", "/api/customers/")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"
