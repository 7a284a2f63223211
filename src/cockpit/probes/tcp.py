"""TCP probes: a port accepts connections. The value is the connect time in milliseconds."""

from __future__ import annotations

import asyncio
import contextlib

from cockpit.probes.base import ProbeContext
from cockpit.profile.models import TcpSource
from cockpit.sample import Sample


async def probe_tcp(source: TcpSource, ctx: ProbeContext) -> Sample:
    """Open and close one connection; refused or unreachable is ERROR."""
    started = ctx.clock.monotonic()
    try:
        _, writer = await asyncio.open_connection(source.host, source.port)
    except OSError as exc:
        return ctx.error(f"{source.host}:{source.port}: {exc.strerror or exc}")
    latency_ms = (ctx.clock.monotonic() - started) * 1000.0
    writer.close()
    # The connection was made; how it closes is not what is measured.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ctx.judge(latency_ms, f"connected to {source.host}:{source.port}")
