"""A lean HTTP/1.1 client for the timed requests: one keep-alive socket, bytes in, bytes out.

The latency rounds time what the server takes, seen from a separate process.
A full-featured client (httpx) spends a few hundred microseconds of its own
Python on every request (URL and header models, cookie jar, event hooks),
which the clock would charge to the server. This one builds each request
from ready bytes and reads the answer by its Content-Length (or chunks), so
the time measured is the server's plus the loopback's. Signing in and
everything untimed still go through httpx.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


class WireError(ConnectionError):
    """The connection broke or the server answered something unreadable."""


class _Closed(WireError):
    """The server closed the connection before answering anything."""


@dataclass
class WireResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class WireClient:
    """Requests on one persistent connection to ``base_url``, each with ``headers`` added
    (the sign-in's cookies, an API token)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.host = f"{self.address[0]}:{self.address[1]}"
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, data: dict[str, str] | None = None) -> WireResponse:
        body = urlencode(data).encode() if data is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        if data is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body or method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        reused = self.sock is not None
        try:
            return self._exchange(raw, method)
        except OSError as exc:
            self.close()
            if not (reused and isinstance(exc, (_Closed, ConnectionResetError, BrokenPipeError))):
                raise WireError(str(exc)) from exc
        # The server closed the kept-alive connection while it was idle (uvicorn does after 5 s),
        # before reading this request: as a browser would, send it again on a new connection.
        try:
            return self._exchange(raw, method)
        except OSError as exc:
            self.close()
            raise WireError(str(exc)) from exc

    def _exchange(self, raw: bytes, method: str) -> WireResponse:
        sock = self.sock or self._connect()
        sock.sendall(raw)
        return self._read(method)

    def get(self, path: str, headers: dict[str, str] | None = None) -> WireResponse:
        return self.request("GET", path, headers)

    def _fill(self) -> None:
        chunk = self.sock.recv(262144) if self.sock else b""
        if not chunk:
            closed = _Closed if not self.buffer else WireError  # nothing of an answer yet: the request was not read
            self.close()
            raise closed("the server closed the connection")
        self.buffer += chunk

    def _line_block(self) -> bytes:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
        return head

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _read(self, method: str) -> WireResponse:
        head = self._line_block().decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise WireError(f"unreadable status line {head[0]!r}") from exc
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            content = b""
        elif "content-length" in headers:
            content = self._take(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                while (end := self.buffer.find(b"\r\n")) < 0:
                    self._fill()
                size = int(self.buffer[:end].split(b";")[0], 16)
                self.buffer = self.buffer[end + 2 :]
                parts.append(self._take(size))
                self._take(2)
                if size == 0:
                    break
            content = b"".join(parts)
        else:
            raise WireError("an answer without a length on a keep-alive connection")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return WireResponse(status, headers, content)
