"""The plain-HTTP fast path, against raw servers that answer exactly what each test needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cockpit.probes import plainhttp
from cockpit.probes.plainhttp import PlainHttpPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A loopback TCP server whose handler writes raw bytes; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        return head

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(handler: Handler) -> RawServer:
        raw = RawServer(handler)
        raw.server = await asyncio.start_server(raw._serve, "127.0.0.1", 0)
        servers.append(raw)
        return raw

    yield start
    for raw in servers:
        assert raw.server is not None
        raw.server.close()
        await raw.server.wait_closed()


def keep_alive(body: bytes, *, status: str = "200 OK") -> Handler:
    """Answer every request on the connection with ``body`` (Content-Length)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await raw_of(writer).read_request(reader)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
            await writer.drain()

    return handler


_owners: dict[int, RawServer] = {}


def raw_of(writer: asyncio.StreamWriter) -> RawServer:
    return _owners[writer.get_extra_info("sockname")[1]]


async def started(serve: Callable[[Handler], Awaitable[RawServer]], handler: Handler) -> RawServer:
    raw = await serve(handler)
    assert raw.server is not None
    _owners[raw.server.sockets[0].getsockname()[1]] = raw
    return raw


async def test_keep_alive_reuses_one_connection(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    raw = await started(serve, keep_alive(b'{"ok": 1}'))
    pool = PlainHttpPool(max_body=1000)
    for _ in range(5):
        answer = await pool.request("GET", raw.url + "/stats", params={"q": "a b"})
        assert answer.status_code == 200
        assert answer.body == b'{"ok": 1}'
    await pool.aclose()
    assert raw.connections == 1
    assert raw.requests[0].startswith(b"GET /stats?q=a+b HTTP/1.1\r\n")


async def test_chunked_body_is_reassembled(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw_of(writer).read_request(reader)
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        await writer.drain()

    raw = await started(serve, handler)
    pool = PlainHttpPool(max_body=1000)
    answer = await pool.request("GET", raw.url)
    assert (answer.status_code, answer.body) == (503, b"hello, world")
    await pool.aclose()


async def test_body_until_close_and_connection_close(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw_of(writer).read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nno length here")
        await writer.drain()

    raw = await started(serve, handler)
    pool = PlainHttpPool(max_body=1000)
    for _ in range(2):
        answer = await pool.request("GET", raw.url)
        assert answer.body == b"no length here"
    assert raw.connections == 2  # never reused after a close-delimited body
    await pool.aclose()


async def test_server_closing_an_idle_connection_is_retried_once(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw_of(writer).read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # then close without saying so: the client's kept connection is dead

    raw = await started(serve, handler)
    pool = PlainHttpPool(max_body=1000)
    assert (await pool.request("GET", raw.url)).body == b"ok"
    await asyncio.sleep(0)  # let the server's close reach us: not needed for correctness
    assert (await pool.request("GET", raw.url)).body == b"ok"
    assert raw.connections == 2
    await pool.aclose()


async def test_garbage_answer_is_a_protocol_error(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw_of(writer).read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    raw = await started(serve, handler)
    pool = PlainHttpPool(max_body=1000)
    with pytest.raises(plainhttp.RemoteProtocolError, match="not an HTTP answer"):
        await pool.request("GET", raw.url)
    await pool.aclose()


async def test_body_larger_than_the_limit_is_refused(
    serve: Callable[[Handler], Awaitable[RawServer]],
) -> None:
    raw = await started(serve, keep_alive(b"x" * 5000))
    pool = PlainHttpPool(max_body=1000)
    with pytest.raises(ValueError, match="larger than 1000"):
        await pool.request("GET", raw.url)
    await pool.aclose()


async def test_refused_connection_is_a_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    pool = PlainHttpPool(max_body=1000)
    with pytest.raises(plainhttp.ConnectError):
        await pool.request("GET", f"http://127.0.0.1:{port}/")


async def test_header_injection_is_refused_before_sending() -> None:
    pool = PlainHttpPool(max_body=1000)
    with pytest.raises(plainhttp.LocalProtocolError, match="line break"):
        await pool.request("GET", "http://127.0.0.1:9/", headers={"X-A": "1\r\nX-Evil: 2"})


def test_only_plain_http_without_a_proxy_takes_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert plainhttp.usable("http://127.0.0.1:8080/stats")
    assert plainhttp.usable("http://metrics.internal/x")
    assert not plainhttp.usable("https://127.0.0.1/")
    assert not plainhttp.usable("http://user:pw@127.0.0.1/")
    assert not plainhttp.usable("http://[::1/x")  # httpx says what is wrong with it
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    assert not plainhttp.usable("http://metrics.internal/x")
    assert plainhttp.usable("http://127.0.0.1:8080/stats")


def test_a_pool_reads_the_proxy_settings_once_per_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    pool = PlainHttpPool(max_body=1000)
    assert pool.usable("http://metrics.internal/x")
    assert not pool.usable("https://metrics.internal/x")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert pool.usable("http://metrics.internal/x")  # decided for this pool's life, as httpx
    assert not PlainHttpPool(max_body=1000).usable("http://metrics.internal/x")
