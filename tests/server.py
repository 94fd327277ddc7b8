"""The real app served in a subprocess, for tests that need a real server, and
the pieces it is made of (a free port, the command line, starting, waiting,
stopping, killing), which the load and crash harness (tests/platform/load/) uses too."""

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The process serving each base URL that ``serve`` yielded, while it serves (a test may kill it).
PROCESSES: dict[str, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def server_command(port: int, workers: int = 1, command: str = "uvicorn", python: str | Path = sys.executable) -> list[str]:
    """``command``: ``uvicorn`` (its command line) or ``clientele`` (``clientele run``, as deployed)."""
    if command == "clientele":
        return [str(python), "-m", "app.cli", "run", "--no-demo", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return [
        str(python), "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--no-access-log",
    ]


def start(argv: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """The server in a process group of its own (its workers are stopped or killed with it),
    its output appended to ``log_path``."""
    with log_path.open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        return subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_until_up(process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float = 60) -> None:
    """Until the sign-in page answers 200; RuntimeError with the server's output if it exits or the time is up."""
    deadline = time.monotonic() + timeout
    while not answers(f"{base_url}/login"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start; its output ({log_path}):\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> bool:
    try:
        os.killpg(process.pid, sig)  # start_new_session: the group id is the pid
    except ProcessLookupError:
        return False
    return True


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to the group, SIGKILL when it has not exited in ``timeout`` seconds;
    then SIGKILL to whatever of the group is left (a worker that outlived its supervisor)."""
    if process.poll() is None and _signal_group(process, signal.SIGTERM):
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    _signal_group(process, signal.SIGKILL)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the whole group: the supervisor and its workers die mid-request.
    Returns when none of the group is left (or after 5 s)."""
    _signal_group(process, signal.SIGKILL)
    process.wait()
    for _ in range(100):
        if not _signal_group(process, 0):  # signal 0: is any of the group left?
            return
        time.sleep(0.05)


@contextmanager
def serve(
    name: str, workers: int = 1, env: dict[str, str] | None = None, start_timeout: float = 60, command: str = "uvicorn",
    wrapper: tuple[str, ...] = (), python: str | Path = sys.executable, cwd: Path = ROOT,
) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 with the test environment
    (DATABASE_URL etc. from tests/conftest.py) plus ``env``; yields the base URL.
    ``command``: ``uvicorn`` (its command line) or ``clientele`` (``clientele run``, as deployed);
    ``wrapper``: a command the server runs under (one that drops privileges, say);
    ``python`` and ``cwd``: the interpreter that runs it and the directory it starts in.
    The server's output goes to a log file named after ``name``."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"clientele-{name}-server-{os.getpid()}.log"
    log_path.unlink(missing_ok=True)
    process = start([*wrapper, *server_command(port, workers, command, python)], {**os.environ, **(env or {})}, log_path, cwd)
    try:
        wait_until_up(process, base_url, log_path, start_timeout)
        PROCESSES[base_url] = process
        yield base_url
    finally:
        PROCESSES.pop(base_url, None)
        stop(process)
