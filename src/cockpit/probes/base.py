"""What every probe shares: the context of one measurement and the verdict helpers.

A probe measures; it never decides what happens next. It turns one measurement into a
:class:`~cockpit.sample.Sample` whose status is PASS only for a fresh, finite, successfully
measured value inside its threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cockpit.clock import Clock
from cockpit.inert import inert
from cockpit.probes.plainhttp import PlainHttpPool
from cockpit.profile.models import Threshold
from cockpit.runner.redact import Redactor
from cockpit.sample import Sample, Status

if TYPE_CHECKING:
    import httpx

MAX_DETAIL = 240
"""Longest detail kept: a detail is one line on screen and in the journal."""

MAX_BODY = 1_000_000
"""Largest HTTP body read; an endpoint answering more is broken, not measured."""

READ_FOR_DETAIL = 8192
"""Characters of an outside text (a body, an error) read for a detail; the rest is not shown."""


def one_line(text: str, limit: int = MAX_DETAIL) -> str:
    """Collapse whitespace to one line, make it inert and cut it to ``limit`` characters.

    Text from outside must be redacted before (:meth:`ProbeContext.redact` does both): a cut
    may leave the start of a secret.
    """
    flat = inert(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_value(value: float) -> str:
    """A number as people read it: ``2``, ``0.8``, ``123.5``, ``1e+300``; ``NaN``, ``+Inf``."""
    if not math.isfinite(value):
        # Prometheus's own spelling; int() of these raises, and a detail must never.
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1000 or abs(value) >= 1e15 else f"{value:.1f}"


class HttpClients:
    """The httpx clients of a scheduler or a single call: one verifying TLS, one not.

    One client per verify setting lets many probes share keep-alive connections. A client
    passed in by the caller is used for verifying sources and is never closed here.
    """

    def __init__(self, shared: httpx.AsyncClient | None = None, *, pool_size: int = 16) -> None:
        self._verifying = shared
        self._owns_verifying = shared is None
        self._insecure: httpx.AsyncClient | None = None
        self._pool_size = pool_size
        self.plain = PlainHttpPool(max_body=MAX_BODY)
        """The fast path for plain http:// without a proxy (see ``plainhttp``)."""

    def get(self, *, verify: bool) -> httpx.AsyncClient:
        """The client for a source with this ``verify_tls`` setting, created on first use."""
        if verify:
            if self._verifying is None:
                self._verifying = new_http_client(verify=True, pool_size=self._pool_size)
            return self._verifying
        if self._insecure is None:
            self._insecure = new_http_client(verify=False, pool_size=self._pool_size)
        return self._insecure

    async def aclose(self) -> None:
        """Close the clients this object created."""
        await self.plain.aclose()
        if self._owns_verifying and self._verifying is not None:
            await self._verifying.aclose()
            self._verifying = None
        if self._insecure is not None:
            await self._insecure.aclose()
            self._insecure = None


def new_http_client(*, verify: bool = True, pool_size: int = 16) -> httpx.AsyncClient:
    """An httpx client for probes.

    Proxy variables are honoured (as curl does), except for loopback addresses: a probe of
    127.0.0.1 through a corporate proxy measures the proxy, not the service.
    """
    import httpx  # only for a source off the plain path (see cockpit.probes.plainhttp)

    no_proxy: dict[str, httpx.AsyncBaseTransport | None] = {
        "all://127.0.0.1": None,
        "all://localhost": None,
        "all://[::1]": None,
    }
    return httpx.AsyncClient(
        verify=verify,
        follow_redirects=False,
        mounts=no_proxy,
        # As many connections as probes in flight, all kept alive: httpcore closes idle
        # connections whenever the pool holds more than the keep-alive limit, and a
        # reconnect per sample costs more CPU than the sample itself.
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        # Per phase; the probe's total deadline is an asyncio.timeout around the whole call.
        timeout=httpx.Timeout(30.0),
        headers={"User-Agent": "cockpit-probe"},
    )


@dataclass
class ProbeContext:
    """Everything one measurement needs besides its source.

    Attributes:
        id: Check or metric id.
        threshold: Where the value must lie; ``None`` when success alone is the verdict.
        unit: Unit of the value.
        timeout: Total deadline of the measurement, in seconds.
        clock: Where the time is read.
        staleness: Oldest acceptable age of a value, in seconds (Prometheus timestamps).
        expected_artifact: Approved digest or tag, for artifact sources without ``expected``.
        secrets: Values redacted from every detail.
        http: The httpx clients to use.
    """

    id: str
    threshold: Threshold | None
    unit: str
    timeout: float
    clock: Clock
    staleness: float | None = None
    expected_artifact: str | None = None
    secrets: tuple[str, ...] = ()
    http: HttpClients = field(default_factory=HttpClients)
    _redactor: Redactor | None = None

    @property
    def redactor(self) -> Redactor:
        """The redactor of :attr:`secrets`, made once."""
        if self._redactor is None:
            self._redactor = Redactor(self.secrets)
        return self._redactor

    def redact(self, text: str, limit: int = MAX_DETAIL) -> str:
        """Outside text for a detail: secrets redacted, then one line, inert, at most ``limit``.

        Redaction comes first, on the text as it was read (seeing through escape sequences
        and invisible characters); collapsing whitespace, escaping and cutting come after it,
        so they can never leave part or an altered form of a secret.
        """
        red = self.redactor
        flat = " ".join(red.redact_start(text, READ_FOR_DETAIL).split())
        # Again: collapsing whitespace may have joined the parts of a secret.
        return one_line(red.redact(flat), limit)

    def quote(self, text: str, limit: int = MAX_DETAIL) -> str:
        """:meth:`redact` in quotes (not ``repr()``, which alters a secret before redaction)."""
        return f"'{self.redact(text, limit)}'"

    def sample(self, status: Status, detail: str, value: float | None = None) -> Sample:
        """A sample measured now."""
        return Sample(
            id=self.id,
            status=status,
            value=value,
            unit=self.unit,
            measured_at=self.clock.wall(),
            detail=self.redact(detail),
        )

    def sample_pass(self, detail: str) -> Sample:
        """Succeeded with nothing to compare to a threshold (an exit status, a match)."""
        if self.threshold is not None:
            # A threshold with nothing measured to hold against it is a profile mistake;
            # never let it PASS silently.
            return self.error(f"{detail}; but no number was measured for the threshold")
        return self.sample(Status.PASS, detail)

    def error(self, detail: str) -> Sample:
        """Could not measure: ERROR."""
        return self.sample(Status.ERROR, detail)

    def fail(self, detail: str, value: float | None = None) -> Sample:
        """Measured, and the answer is no: FAIL."""
        return self.sample(Status.FAIL, detail, value)

    def inconclusive(self, detail: str, value: float | None = None) -> Sample:
        """Measured something that cannot count either way: INCONCLUSIVE."""
        return self.sample(Status.INCONCLUSIVE, detail, value)

    def judge(self, value: float, what: str = "") -> Sample:
        """Judge a measured value against the threshold.

        Args:
            value: The measured number.
            what: Extra facts for the detail, e.g. ``"HTTP 200"``.
        """
        if not math.isfinite(value):
            return self.error(f"value is {format_value(value)}, not a finite number{_tail(what)}")
        shown = f"{format_value(value)}{' ' + self.unit if self.unit else ''}"
        if self.threshold is None:
            return self.sample(Status.PASS, f"{shown}{_tail(what)}", value)
        limit = self.threshold.describe(self.unit)
        if self.threshold.passes(value):
            return self.sample(Status.PASS, f"{shown}, within {limit}{_tail(what)}", value)
        return self.fail(f"{shown}, outside {limit}{_tail(what)}", value)


def _tail(what: str) -> str:
    return f"; {what}" if what else ""
