"""The server under load: ``clientele run`` with two workers, started and stopped
with tests/server.py; in the crash proof SIGKILLed and started again on the same
port every 10-15 s."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from pathlib import Path

from tests.server import free_port, kill, server_command, start, stop, wait_until_up


class Server:
    """One ``clientele run`` whose whole process group a SIGKILL ends at once, restartable on its port."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()  # set while it answers; the clients wait on it after a dropped request
        self.kills = 0
        self.down_seconds = 0.0  # from each SIGKILL until the restarted server answered
        self._down_since: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        self.process = start(server_command(self.port, self.workers, "clientele"), self.env, self.log_path)
        wait_until_up(self.process, self.url, self.log_path, timeout)
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
        kill(self.process)
        self.kills += 1

    def stop(self) -> None:
        self.up.clear()
        if self.process is not None:
            stop(self.process, timeout=20)


def crash_loop(server: Server, deadline: float, rng: random.Random, stop_event: threading.Event) -> None:
    """SIGKILL the server every 10-15 s and start it again; a last SIGKILL just before the
    end, while the clients are still writing, after which it stays down."""
    while not stop_event.is_set():
        wait = rng.uniform(10, 15)
        if time.monotonic() + wait > deadline - 5:
            break
        if stop_event.wait(wait):
            return
        server.kill()
        time.sleep(rng.uniform(0.2, 1.0))  # down for a moment: clients meet refused connections
        server.start()
    if not stop_event.wait(max(0.0, deadline - 0.5 - time.monotonic())):
        server.kill()
