"""A tiny real HTTP server on 127.0.0.1:0 for probe tests: answers, garbage, hangs, drips.

Real sockets, real HTTP parsing by httpx; only the answers are chosen by the test. Also
imitates the Prometheus query API for edge cases a real Prometheus does not easily produce.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


Writer = asyncio.StreamWriter
Handler = Callable[[Request, Writer], Awaitable[None]]


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class FakeServer:
    """Routes by path; each route writes whatever the test wants."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ routes

    def raw(self, path: str, data: bytes, *, delay: float = 0.0) -> None:
        async def handle(request: Request, writer: Writer) -> None:
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)

        self.routes[path] = handle

    def json(self, path: str, doc: Any, status: int = 200, *, delay: float = 0.0) -> None:
        self.raw(path, response(status, json.dumps(doc).encode()), delay=delay)

    def text(self, path: str, body: str, status: int = 200) -> None:
        self.raw(path, response(status, body.encode(), "text/plain"))

    def hang(self, path: str) -> None:
        async def handle(request: Request, writer: Writer) -> None:
            await asyncio.Event().wait()

        self.routes[path] = handle

    def drip(self, path: str, every: float = 0.05) -> None:
        """Headers at once, then one body byte per ``every`` seconds, forever."""

        async def handle(request: Request, writer: Writer) -> None:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while True:
                await writer.drain()
                writer.write(b"x")
                await asyncio.sleep(every)

        self.routes[path] = handle

    def prometheus(self, answer: Callable[[str], tuple[int, Any]]) -> None:
        """Imitate ``/api/v1/query``: ``answer(query)`` gives (HTTP status, JSON document)."""

        async def handle(request: Request, writer: Writer) -> None:
            status, doc = answer(request.query.get("query", ""))
            writer.write(response(status, json.dumps(doc).encode()))

        self.routes["/api/v1/query"] = handle

    # ------------------------------------------------------------ server

    async def __aenter__(self) -> FakeServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            line = (await reader.readline()).decode()
            if not line:
                return
            method, target, _ = line.split(" ", 2)
            headers: dict[str, str] = {}
            while (header := (await reader.readline()).decode().strip()) != "":
                name, _, value = header.partition(":")
                headers[name.strip().lower()] = value.strip()
            split = urllib.parse.urlsplit(target)
            query = dict(urllib.parse.parse_qsl(split.query))
            request = Request(method, split.path, query, headers)
            self.requests.append(request)
            handler = self.routes.get(split.path)
            if handler is None:
                writer.write(response(404, b"not found", "text/plain"))
            else:
                await handler(request, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
