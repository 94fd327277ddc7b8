"""The real app served by uvicorn in a subprocess, for tests that need a real server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The process serving each base URL that ``serve`` yielded, while it serves (a test may kill it).
PROCESSES: dict[str, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


@contextmanager
def serve(
    name: str, workers: int = 1, env: dict[str, str] | None = None, start_timeout: float = 60, command: str = "uvicorn",
    wrapper: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 with the test environment
    (DATABASE_URL etc. from tests/conftest.py) plus ``env``; yields the base URL.
    ``command``: ``uvicorn`` (its command line) or ``clientele`` (``clientele run``, as deployed);
    ``wrapper``: a command the server runs under (one that drops privileges, say).
    The server's output goes to a log file named after ``name``."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"clientele-{name}-server-{os.getpid()}.log"
    if command == "clientele":
        argv = [sys.executable, "-m", "app.cli", "run", "--no-demo", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    else:
        argv = [
            sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log",
        ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*wrapper, *argv],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers are stopped with it
        )
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(f"{base_url}/login"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; its output:\n{log_path.read_text(errors='replace')[-4000:]}")
                time.sleep(0.1)
            PROCESSES[base_url] = process
            yield base_url
        finally:
            PROCESSES.pop(base_url, None)
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
