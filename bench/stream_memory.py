"""Peak server memory while printing and exporting a long list.

    python -m bench.stream_memory --database-url sqlite:///var/bench/sqlite/clientele.db --account Bench

Signs in as a user it creates, then downloads /customers/print and the
exports (/customers/export.csv, /customers/export-excel.csv,
/customers/export.xlsx) for every customer of the account while sampling the
server process's resident memory (VmRSS) every 20 ms. Prints the baseline,
the peak, the rows (lines; the .xlsx is compressed: its size only) and the
time for each. ``--paths`` picks some of them.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
# What each download is counted by: a row's start, or None (compressed).
PATHS = {
    "/customers/print": b"<tr>",
    "/customers/export.csv": b"\n",
    "/customers/export-excel.csv": b"\n",
    "/customers/export.xlsx": None,
}


def _rss_mb(pid: int) -> float:
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--account", default="Bench")
    parser.add_argument("--paths", nargs="*", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the next bytes (the .xlsx sends its first after its last row)")
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "CLIENTELE_RATE_LIMIT": "0",
           "CLIENTELE_VAR_DIR": str(ROOT / "var" / "stream-memory")}
    clientele = str(Path(sys.executable).parent / "clientele")
    email, password = f"mem-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
    subprocess.run([clientele, "users", "create", "--account", args.account, "--email", email], input=password + "\n",
                   text=True, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([clientele, "run", "--no-demo", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=args.timeout) as client:
            for _ in range(100):
                try:
                    page = client.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            client.post("/login", data={"email": email, "password": password, "_csrf_token": token})
            client.get("/customers")  # warm up
            baseline = _rss_mb(server.pid)
            print(f"server baseline RSS: {baseline:.0f} MB")
            for path in args.paths:
                marker = PATHS[path]
                peak = [baseline]
                done = threading.Event()

                def sample(done: threading.Event = done, peak: list[float] = peak) -> None:
                    while not done.is_set():
                        peak[0] = max(peak[0], _rss_mb(server.pid))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                started = time.perf_counter()
                rows = size = 0
                tail = b""
                with client.stream("GET", path) as response:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if marker is None:
                            continue
                        window = tail + chunk  # a marker may straddle two chunks
                        rows += window.count(marker) - tail.count(marker)
                        tail = window[-(len(marker) - 1):] if len(marker) > 1 else b""
                elapsed = time.perf_counter() - started
                done.set()
                sampler.join()
                counted = f"{rows:,} rows, " if marker is not None else ""
                print(f"{path}: {counted}{size / 1e6:.1f} MB in {elapsed:.1f} s; peak server RSS {peak[0]:.0f} MB", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
