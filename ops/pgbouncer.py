"""PgBouncer in transaction pooling mode in front of a PostgreSQL server on this machine.

    python -m ops.pgbouncer start [--dir var/pgbouncer] [--port 0] [--server postgresql://postgres@127.0.0.1:5432]
    python -m ops.pgbouncer stop [--dir var/pgbouncer]

``start`` writes ``pgbouncer.ini`` and ``userlist.txt`` into the folder, starts Debian's ``pgbouncer``
(installed with apt when missing) on 127.0.0.1 and a free port (or ``--port``), waits until it
answers, and prints shell assignments for the app's environment::

    PGBOUNCER_PORT=6543
    PGBOUNCER_URL=postgresql://postgres@127.0.0.1:6543
    CLIENTELE_PGBOUNCER=1

Every database of the server is reachable through it under its own name. PgBouncer 1.18 passes no
``options`` startup parameter to the server, so the pooler sets each server connection's lock and
statement timeouts itself (``connect_query``), from the app's CLIENTELE_LOCK_TIMEOUT and
CLIENTELE_STATEMENT_TIMEOUT (or their defaults); CLIENTELE_PGBOUNCER=1 tells the app that it is
behind such a pooler (app/config.py).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "pgbouncer"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Server connections per database and user, and per database at most: PostgreSQL's 100 are shared
# with direct clients. Transaction pooling holds a server connection for a transaction only, so a
# few dozen carry many app processes; a statement that waits for a lock holds one while it waits.
POOL_SIZE = 30
MAX_DB_CONNECTIONS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def install() -> str:
    """The pgbouncer executable, installed with apt when missing (as root)."""
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], check=True, env=env)
    return shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _milliseconds(name: str, default: float) -> int:
    raw = os.environ.get(name, "").strip()
    return round(float(raw) * 1000) if raw else round(default * 1000)


def config(port: int, folder: Path, server: str) -> str:
    """pgbouncer.ini: transaction pooling, trust authentication (as the server on loopback), every database."""
    url = make_url(server)
    lock = _milliseconds("CLIENTELE_LOCK_TIMEOUT", 5.0)
    statement = _milliseconds("CLIENTELE_STATEMENT_TIMEOUT", 10.0)
    connect_query = f"SET lock_timeout = {lock}; SET statement_timeout = {statement}"
    return "\n".join([
        "[databases]",
        f"* = host={url.host or '127.0.0.1'} port={url.port or 5432} connect_query='{connect_query}'",
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        f"unix_socket_dir = {folder}",
        "auth_type = trust",
        f"auth_file = {folder / 'userlist.txt'}",
        f"admin_users = {url.username or 'postgres'}",
        "pool_mode = transaction",
        "max_client_conn = 2000",
        f"default_pool_size = {POOL_SIZE}",
        f"max_db_connections = {MAX_DB_CONNECTIONS}",
        # A client waits at most this long for a server connection, then gets an error (the app answers 503).
        "query_wait_timeout = 30",
        "server_idle_timeout = 60",
        f"logfile = {folder / 'pgbouncer.log'}",
        f"pidfile = {folder / 'pgbouncer.pid'}",
        "",
    ])


@dataclass
class Bouncer:
    folder: Path
    port: int
    server: str

    @property
    def url(self) -> str:
        """The server URL of the pooler (append ``/dbname``)."""
        user = make_url(self.server).username or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}"


def _pid(folder: Path) -> int | None:
    try:
        pid = int((folder / "pgbouncer.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def start(folder: Path = DEFAULT_DIR, port: int = 0, server: str = DEFAULT_SERVER, timeout: float = 15) -> Bouncer:
    """Write the configuration into ``folder`` and start pgbouncer in the background (a daemon)."""
    executable = install()
    folder = folder.resolve()
    if _pid(folder) is not None:
        raise SystemExit(f"pgbouncer already runs from {folder} (python -m ops.pgbouncer stop --dir {folder})")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    user = make_url(server).username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(config(port, folder, server))
    (folder / "pgbouncer.log").unlink(missing_ok=True)
    argv = [executable, "-d", "-q"]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root: it runs as the database's system user
        owner = pwd.getpwnam("postgres")
        for path in (folder, *folder.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        argv += ["-u", "postgres"]
    subprocess.run([*argv, str(folder / "pgbouncer.ini")], check=True)
    bouncer = Bouncer(folder, port, server)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                raise SystemExit(f"pgbouncer did not start; its log:\n{log.read_text() if log.exists() else '(none)'}") from None
            time.sleep(0.05)
    return bouncer


def stop(folder: Path = DEFAULT_DIR, timeout: float = 15) -> bool:
    """Stop the pgbouncer started from ``folder`` (SIGINT: at once, closing its connections); False if none ran."""
    folder = folder.resolve()
    pid = _pid(folder)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _pid(folder) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid(folder) == pid:
        os.kill(pid, signal.SIGKILL)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.pgbouncer", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="configuration, log and pid file (default: var/pgbouncer)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the PostgreSQL server (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.action == "stop":
        if not stop(args.dir):
            print(f"no pgbouncer runs from {args.dir}", file=sys.stderr)
        return 0
    bouncer = start(args.dir, args.port, args.server)
    print(f"PGBOUNCER_PORT={bouncer.port}\nPGBOUNCER_URL={bouncer.url}\nCLIENTELE_PGBOUNCER=1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
