"""A small keep-alive HTTP/1.1 client for plain ``http://`` probes that no proxy applies to.

Why: a probe asks the same few endpoints once a second, and httpx spends about 2 ms of CPU on
each request here (measured by ``benchmarks/probes_cpu.py``): 200 probes at 1 Hz cost close to
half a core. This client does one thing — GET/HEAD/POST without a body over a kept-alive
connection — at a fraction of that. TLS, proxies and anything unusual stay with httpx.

Its errors are its own, named as httpx names the same failures, so that a detail reads the
same whichever client asked; it does not import httpx, so that a cockpit whose probes all take
this path never loads httpx (1.5-1.7 MB of resident memory after ``benchmarks/ui_log_flood.py``,
measured with and without it).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from urllib.parse import urlencode, urlsplit

MAX_LINE = 16384
"""Longest status or header line accepted."""
MAX_HEADERS = 100


class PlainHttpError(Exception):
    """A request through this client failed."""


class ConnectError(PlainHttpError):
    """No connection to the host."""


class ReadError(PlainHttpError):
    """The connection failed while the answer was read."""


class RemoteProtocolError(PlainHttpError):
    """The answer is not valid HTTP."""


class LocalProtocolError(PlainHttpError):
    """The request could not be written as valid HTTP (e.g. a line break in a header)."""


class Answer:
    """The parts of a response a probe looks at."""

    __slots__ = ("body", "status_code")

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body


def usable(url: str) -> bool:
    """Whether ``url`` can take the fast path: plain http, no proxy for its host."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket: httpx says what is wrong with it
        return False
    if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get("http") or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(parts.hostname))


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class PlainHttpPool:
    """Kept-alive connections per (host, port), used one request at a time each."""

    def __init__(self, *, max_body: int) -> None:
        self.max_body = max_body
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._usable: dict[str, bool] = {}

    def usable(self, url: str) -> bool:
        """:func:`usable`, decided once per URL for the life of this pool.

        Reading the proxy settings walks the whole environment (about 0.4 ms, most of a
        plain request's CPU); like an httpx client, the pool reads them once.
        """
        known = self._usable.get(url)
        if known is None:
            known = self._usable[url] = usable(url)
        return known

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and read the whole answer.

        Raises:
            ConnectError, RemoteProtocolError, LocalProtocolError, ReadError: where httpx
                raises its errors of these names.
            ValueError: the body is larger than ``max_body`` (the caller reports it).
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or 80
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(params or {})) if q)
        if query:
            target += "?" + query
        head = _request_head(method, target, host, port, headers or {})
        key = (host, port)
        # A kept-alive connection may have been closed by the server since its last use;
        # one retry on a fresh connection tells that apart from a real failure.
        for attempt in range(2):
            connection, reused = await self._acquire(key)
            try:
                answer, keep = await self._exchange(connection, head, method)
            except (RemoteProtocolError, ReadError, ConnectionError) as exc:
                _close(connection)
                if reused and attempt == 0:
                    continue
                if isinstance(exc, PlainHttpError):
                    raise
                raise ReadError(str(exc) or type(exc).__name__) from None
            except BaseException:
                _close(connection)  # cancelled mid-request: the connection is in an unknown state
                raise
            if keep:
                self._idle.setdefault(key, []).append(connection)
            else:
                _close(connection)
            return answer
        raise ReadError("the connection was closed")  # pragma: no cover - loop returns

    async def _acquire(self, key: tuple[str, int]) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection[1].is_closing() and not connection[0].at_eof():
                return connection, True
            _close(connection)
        try:
            reader, writer = await asyncio.open_connection(key[0], key[1], limit=MAX_LINE)
        except OSError as exc:
            raise ConnectError(exc.strerror or str(exc)) from None
        return (reader, writer), False

    async def _exchange(
        self, connection: _Connection, head: bytes, method: str
    ) -> tuple[Answer, bool]:
        reader, writer = connection
        writer.write(head)
        await writer.drain()
        try:
            status_line = await reader.readuntil(b"\r\n")
        except asyncio.IncompleteReadError:
            raise RemoteProtocolError(
                "the server closed the connection without answering"
            ) from None
        except asyncio.LimitOverrunError:
            raise RemoteProtocolError("status line too long") from None
        version, code = _parse_status(status_line)
        headers = await _read_headers(reader)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
            return Answer(code, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise RemoteProtocolError("bad Content-Length") from None
            if length < 0:
                raise RemoteProtocolError("bad Content-Length")
            if length > self.max_body:
                raise ValueError(f"body larger than {self.max_body} bytes")
            body = await _exactly(reader, length)
        else:
            body = await reader.read(self.max_body + 1)
            rest = body
            while rest and len(body) <= self.max_body:
                rest = await reader.read(self.max_body + 1 - len(body))
                body += rest
            if len(body) > self.max_body:
                raise ValueError(f"body larger than {self.max_body} bytes")
            keep = False
        return Answer(code, body), keep

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await _line(reader)
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise RemoteProtocolError("bad chunk size") from None
            if length == 0:
                while (await _line(reader)).strip():
                    pass  # trailers
                return b"".join(chunks)
            size += length
            if size > self.max_body:
                raise ValueError(f"body larger than {self.max_body} bytes")
            chunks.append(await _exactly(reader, length))
            await _exactly(reader, 2)

    async def aclose(self) -> None:
        """Close every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                _close(connection)
        self._idle.clear()


def _request_head(method: str, target: str, host: str, port: int, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host if port == 80 else f'{host}:{port}'}"]
    given = {k.lower() for k in headers}
    defaults = {"user-agent": "cockpit-probe", "accept": "*/*"}
    lines += [f"{k.title()}: {v}" for k, v in defaults.items() if k not in given]
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0") or not name.strip():
            raise LocalProtocolError(f"header {name!r} holds a line break or is empty")
        lines.append(f"{name}: {value}")
    if method == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="strict")


def _parse_status(line: bytes) -> tuple[str, int]:
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        # Whole and decoded as it came: the probe's detail redacts before it cuts.
        raise RemoteProtocolError(f"not an HTTP answer: {_decoded(line)}")
    return parts[0], int(parts[1])


def _decoded(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r\n")


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.IncompleteReadError:
        raise RemoteProtocolError("the answer ended early") from None
    except asyncio.LimitOverrunError:
        raise RemoteProtocolError("line too long") from None


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = await _line(reader)
        if line == b"\r\n":
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise RemoteProtocolError(f"bad header line {_decoded(line)}")
        headers[name.strip().lower()] = value.strip()
    raise RemoteProtocolError("too many headers")


async def _exactly(reader: asyncio.StreamReader, count: int) -> bytes:
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError:
        raise RemoteProtocolError("the answer ended early") from None


def _close(connection: _Connection) -> None:
    with contextlib.suppress(Exception):
        connection[1].close()
