"""``cockpit serve``: the room's screen, a read-only view of a session in a browser.

The read side is ``cockpit watch``'s: a :class:`WatchedSession` follows the journal and folds
it with the engine; what the page shows is drawn from that state by the screen's own
renderers (``cockpit.ui.render``), as text. The server answers two GET requests and nothing
else: the page, and a stream of what to show (server-sent events). The page has no way to
send anything back, so nothing on it can act on the session. Both need the token printed
when the server starts (``?token=…``): another local user, or whoever reaches a forwarded
port, gets no view without it.

Why not textual-serve, which runs the watch app per visitor: each visitor costs a whole
Textual process; its page forwards keystrokes to the app (read-only would rest on the app
ignoring them); it draws on a WebGL or canvas surface, which neither a screen reader nor a
test can read; and it loads a font from a third-party site, which would receive the page's
address (the token) as its referrer. A page of text, made here, has none of these.

The timer turns over on the same whole second of T+ as the terminals (each change is sent
at once; the server's ticks land just after the second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import json
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cockpit.engine import State
from cockpit.guide import next_action
from cockpit.inert import inert
from cockpit.journal import JournalError, default_sessions_dir
from cockpit.ui import render
from cockpit.watch import WatchedSession

REQUEST_LIMIT = 8192
"""The most bytes of a request line and headers read."""
REQUEST_TIMEOUT = 10.0
SEND_TIMEOUT = 5.0
"""Seconds a page may leave an update unread before it is dropped (it reconnects itself)."""
MAX_PAGES = 64
TICK_AFTER = 0.002


def room_view(session: WatchedSession, now: float) -> dict[str, Any]:
    """What the page shows now, as text (every outside string made inert)."""
    state: State = session.state
    profile = session.profile
    d = profile.deployment
    banner, kind = render.banner(state)
    alarm = render.loop_alarm(state) or render.lock_alarm(state)
    metrics = []
    for metric in profile.metrics:
        last = state.metrics[metric.id].last
        status = render.status_text(last.status if last else None).plain
        value = render.value_text(last.value if last else None, metric.unit)
        age = render.age_text(last, now, metric.staleness).plain
        metrics.append(
            {
                "title": inert(metric.title),
                "status": status,
                "value": inert(value),
                "threshold": inert(metric.threshold.describe(metric.unit)),
                "age": age,
                "bad": bool(last and last.status.value != "PASS"),
            }
        )
    return {
        "environment": render.environment_text(state).plain.strip(),
        "production": profile.is_production(),
        "deployment": inert(f"{d.name} · {d.service} · {d.owner}"),
        "phase": inert(render.phase_text(state).plain),
        "clock_label": "UTC" if state.t0 is None else "T",
        "clock": render.clock_text(state, now),
        "countdown": render.countdown_text(state, now).plain.strip(),
        "banner": inert(banner.plain, multiline=True),
        "banner_kind": kind.lstrip("-"),
        "alarm": inert(alarm.plain.strip()),
        "next": (
            f"session ended: {state.phase.value}"
            if state.phase.finished
            else inert(render.next_text(next_action(state, now)).plain)
        ),
        "crew": inert(
            f"Operator {state.crew.get('operator', '')} · Monitor {state.crew.get('monitor', '')}"
        ),
        "metrics": metrics,
        "ended": state.phase.finished,
    }


class RoomServer:
    """Serves the page and its updates for one watched session (:meth:`serve`)."""

    def __init__(self, session: WatchedSession, *, host: str, port: int, token: str) -> None:
        self.session = session
        self.host = host
        self.port = port
        self.token = token
        self.pages: set[asyncio.Queue[str]] = set()
        self.last = ""
        self.bound = asyncio.Event()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------ the view

    def _snapshot(self) -> str:
        return json.dumps(room_view(self.session, self.session.clock.wall()), ensure_ascii=False)

    def _publish(self) -> None:
        text = self._snapshot()
        if text == self.last:
            return
        self.last = text
        for queue in list(self.pages):
            with contextlib.suppress(asyncio.QueueFull):
                if queue.full():
                    queue.get_nowait()  # only the newest view matters
                queue.put_nowait(text)

    async def _follow(self) -> None:
        """Fold the journal as it grows (watch's loop); publish on every change and on
        every whole second of T+."""
        self.session.listeners.append(lambda events: self._changed.set())
        follow = asyncio.get_running_loop().create_task(self.session.run_clock())
        try:
            while True:
                now, t0 = self.session.clock.wall(), self.session.state.t0
                into = (now - t0) % 1.0 if t0 is not None else now % 1.0
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0 - into + TICK_AFTER):
                        await self._changed.wait()
                self._changed.clear()
                self._publish()
        finally:
            follow.cancel()

    # ------------------------------------------------------------ HTTP

    async def serve(self) -> None:
        """Serve until cancelled."""
        server = await asyncio.start_server(self._request, self.host, self.port)
        self.port = int(server.sockets[0].getsockname()[1])
        self.last = self._snapshot()
        self.bound.set()
        async with server:
            await self._follow()

    async def _request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        try:
            method, target, _ = head.split(b"\r\n", 1)[0].decode("ascii").split(" ", 2)
        except (UnicodeDecodeError, ValueError):
            await self._answer(writer, 400, "text/plain", "not an HTTP request")
            return
        url = urlsplit(target)
        token = parse_qs(url.query).get("token", [""])[0]
        if method != "GET":
            await self._answer(writer, 405, "text/plain", "this page only shows: GET only")
        elif url.path not in ("/", "/events"):
            await self._answer(writer, 404, "text/plain", "not here")
        elif not hmac.compare_digest(token.encode(), self.token.encode()):
            await self._answer(
                writer,
                403,
                "text/plain",
                "this view needs its token: the address cockpit serve printed",
            )
        elif url.path == "/":
            await self._answer(writer, 200, "text/html; charset=utf-8", PAGE, nonce=True)
        else:
            await self._events(writer)

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        kind: str,
        body: str,
        *,
        nonce: bool = False,
    ) -> None:
        code = secrets.token_urlsafe(12)
        if nonce:
            body = body.replace("NONCE", code)
        data = body.encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(
            status, "Method Not Allowed"
        )
        headers = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {kind}",
            f"Content-Length: {len(data)}",
            "Cache-Control: no-store",
            "Referrer-Policy: no-referrer",
            "X-Content-Type-Options: nosniff",
            "X-Frame-Options: DENY",
            f"Content-Security-Policy: default-src 'none'; script-src 'nonce-{code}';"
            f" style-src 'nonce-{code}'; connect-src 'self'; base-uri 'none';"
            " form-action 'none'; frame-ancestors 'none'",
            "Connection: close",
        ]
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + data)
            async with asyncio.timeout(SEND_TIMEOUT):
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()

    async def _events(self, writer: asyncio.StreamWriter) -> None:
        if len(self.pages) >= MAX_PAGES:
            await self._answer(writer, 400, "text/plain", f"{MAX_PAGES} pages are open already")
            return
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        queue.put_nowait(self.last)
        self.pages.add(queue)
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: keep-alive\r\n\r\n"
        )
        try:
            writer.write(head.encode())
            while True:
                try:
                    async with asyncio.timeout(15.0):
                        text = await queue.get()
                    writer.write(f"data: {text}\n\n".encode())
                except TimeoutError:
                    writer.write(b": still here\n\n")  # keeps proxies from closing it
                async with asyncio.timeout(SEND_TIMEOUT):
                    await writer.drain()
        except (TimeoutError, OSError, RuntimeError):
            pass  # gone, or too slow: the page's EventSource connects again by itself
        finally:
            self.pages.discard(queue)
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()


# ---------------------------------------------------------------- the command


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_command(args: argparse.Namespace) -> int:
    """Serve a session's room view until interrupted: exit 0, or 2 when nothing to show."""
    from cockpit.session_list import list_sessions

    journal = args.journal
    if journal is None:
        directory = Path(args.sessions_dir) if args.sessions_dir else default_sessions_dir()
        try:
            live = [e for e in list_sessions(directory) if e.open] if directory.exists() else []
        except OSError as exc:
            print(inert(f"error: {exc}"), file=sys.stderr)
            return 2
        if not live:
            print(
                inert(f"error: no cockpit has a session open in {directory}; give the JOURNAL"),
                file=sys.stderr,
            )
            return 2
        journal = live[0].journal
    try:
        session = WatchedSession.watch(journal)
    except (JournalError, OSError) as exc:
        print(inert(f"error: cannot show {journal}: {exc}"), file=sys.stderr)
        return 2
    if not _loopback(args.host):
        print(
            f"warning: serving on {args.host}, not only this machine: anyone who can reach it"
            " and has the address below (with its token) sees the session",
            file=sys.stderr,
        )
    server = RoomServer(session, host=args.host, port=args.port, token=secrets.token_urlsafe(24))

    async def run() -> None:
        task = asyncio.get_running_loop().create_task(server.serve())
        bound = asyncio.get_running_loop().create_task(server.bound.wait())
        await asyncio.wait({task, bound}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            await task  # it failed to bind: say why
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(inert(f"the room's view of {session.journal_path}:"), flush=True)
        print(f"http://{shown}:{server.port}/?token={server.token}", flush=True)
        print("(read-only; ctrl+c stops serving)", flush=True)
        await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(inert(f"error: cannot serve on {args.host}:{args.port}: {exc}"), file=sys.stderr)
        return 2
    return 0


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>cockpit · room</title>
<style nonce="NONCE">
body { margin: 0; background: #0b1418; color: #e6edf0;
       font: 18px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
header { display: flex; align-items: center; gap: 2em; padding: .6em 1em;
         border: 4px solid #3b6d8c; }
header.production { border-color: #d23c3c; }
#environment { font-weight: bold; padding: .1em .5em; background: #3b6d8c; }
header.production #environment { background: #d23c3c; }
#identity { flex: 1; }
#phase { font-weight: bold; font-size: 1.3em; }
#clock { font-size: 4.5em; font-weight: bold; letter-spacing: .05em; }
#clock-label { font-size: 1.5em; opacity: .7; }
#countdown { font-weight: bold; font-size: 1.4em; color: #ffb4b4; }
#banner { white-space: pre-line; text-align: center; font-size: 2em; font-weight: bold;
          padding: .4em; margin: .4em 1em; display: none; }
#banner.rollback, #banner.failed { display: block; background: #b3261e; }
#banner.verified { display: block; background: #2e7d32; }
#banner.advised { display: block; background: #a86b00; }
#alarm { color: #fff; background: #b3261e; font-weight: bold; padding: 0 1em; }
#alarm:empty { display: none; }
table { margin: 1em; border-collapse: collapse; font-size: 1.2em; }
td { padding: .2em 1em .2em 0; }
tr.bad td { color: #ffb4b4; font-weight: bold; }
#next, #crew, #stale { margin: .3em 1em; opacity: .85; }
#stale { color: #ffb4b4; font-weight: bold; }
</style></head>
<body>
<header id="top">
  <div id="identity"><div><span id="environment"></span> <span id="deployment"></span></div>
  <div id="phase"></div><div id="crew"></div></div>
  <span id="clock-label"></span><span id="clock"></span><span id="countdown"></span>
</header>
<div id="alarm"></div>
<div id="banner"></div>
<table><tbody id="metrics"></tbody></table>
<div id="next"></div>
<div id="stale"></div>
<script nonce="NONCE">
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const show = (id, text) => { document.getElementById(id).textContent = text; };
let heard = 0;
function draw(view) {
  heard = Date.now();
  show("stale", "");
  document.getElementById("top").className = view.production ? "production" : "";
  show("environment", view.environment);
  show("deployment", view.deployment);
  show("phase", view.phase);
  show("crew", view.crew);
  show("clock-label", view.clock_label + " ");
  show("clock", view.clock);
  show("countdown", view.countdown ? "  " + view.countdown : "");
  show("alarm", view.alarm);
  const banner = document.getElementById("banner");
  banner.className = view.banner_kind;
  banner.textContent = view.banner;
  show("next", view.next);
  const rows = view.metrics.map((m) => {
    const tr = document.createElement("tr");
    if (m.bad) tr.className = "bad";
    for (const cell of [m.status, m.title, m.value, m.threshold, m.age]) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.appendChild(td);
    }
    return tr;
  });
  document.getElementById("metrics").replaceChildren(...rows);
}
const events = new EventSource("/events?token=" + encodeURIComponent(token));
events.onmessage = (event) => draw(JSON.parse(event.data));
setInterval(() => {
  if (heard && Date.now() - heard > 3000) show("stale", "NOT UPDATING: reconnecting…");
}, 1000);
</script>
</body></html>
"""


__all__ = ["RoomServer", "room_view", "serve_command"]
