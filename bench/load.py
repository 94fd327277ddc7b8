"""Throughput: a closed-loop load generator in its own process.

`wrk` when installed; otherwise this module run as a subprocess
(`python -m bench.load URL --duration S --connections C --header H`), an
httpx + asyncio client that prints its result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from typing import Any


def _wrk_seconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        return float("nan")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, duration: int, connections: int, threads: int, headers: dict[str, str]) -> dict[str, Any]:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=duration + 60, check=False).stdout
    rps = float(m.group(1)) if (m := re.search(r"Requests/sec:\s+([\d.]+)", out)) else 0.0
    requests = int(m.group(1)) if (m := re.search(r"(\d+) requests in", out)) else 0
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0
    socket = sum(int(x) for x in m.groups()) if (
        m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)) else 0
    p50 = _wrk_seconds(m.group(1)) * 1000 if (m := re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)) else float("nan")
    p99 = _wrk_seconds(m.group(1)) * 1000 if (m := re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)) else float("nan")
    return {"tool": "wrk", "rps": rps, "requests": requests, "errors": non2xx + socket, "p50_ms": p50, "p99_ms": p99, "raw": out}


def run_load(url: str, duration: int, connections: int, threads: int, headers: dict[str, str]) -> dict[str, Any]:
    if shutil.which("wrk"):
        return run_wrk(url, duration, connections, threads, headers)
    args = [sys.executable, "-m", "bench.load", url, "--duration", str(duration), "--connections", str(connections)]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=False)
    return json.loads(out.stdout)


async def _client(url: str, duration: float, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=5) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = await client.get(url)
                    await response.aread()
                    if response.status_code >= 300:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
    return {"tool": "httpx", "rps": len(latencies) / elapsed, "requests": len(latencies), "errors": errors,
            "p50_ms": pick(0.5), "p99_ms": pick(0.99), "raw": ""}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_client(args.url, args.duration, args.connections, headers))))


if __name__ == "__main__":
    main()
