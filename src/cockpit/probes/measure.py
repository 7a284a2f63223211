"""One measurement of any source, with a total deadline, that never raises."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.clock import Clock
from cockpit.probes.artifact import probe_artifact
from cockpit.probes.base import HttpClients, ProbeContext
from cockpit.probes.command import probe_command
from cockpit.probes.env_catalog import probe_env_catalog
from cockpit.probes.file_age import probe_file_age
from cockpit.probes.http import probe_http
from cockpit.probes.prometheus import probe_prometheus
from cockpit.probes.system import probe_system
from cockpit.probes.tcp import probe_tcp
from cockpit.profile.models import (
    ArtifactSource,
    Check,
    CommandSource,
    EnvCatalogSource,
    FileAgeSource,
    HttpSource,
    Metric,
    Profile,
    PrometheusSource,
    Source,
    SystemSource,
    TcpSource,
    Threshold,
)
from cockpit.sample import Sample, Status

if TYPE_CHECKING:
    import httpx


def default_unit(source: Source) -> str:
    """The unit a source measures in when the profile gives none."""
    if isinstance(source, SystemSource):
        return "" if source.resource == "load" else "%"
    if isinstance(source, HttpSource):
        return "" if source.json_path else "ms"
    if isinstance(source, TcpSource):
        return "ms"
    if isinstance(source, FileAgeSource):
        return "s"
    return ""


async def measure(
    source: Source,
    *,
    id: str,
    threshold: Threshold | None,
    unit: str,
    timeout: float,
    clock: Clock,
    staleness: float | None = None,
    expected_artifact: str | None = None,
    secrets: Sequence[str] = (),
    http: httpx.AsyncClient | None = None,
) -> Sample:
    """Measure ``source`` once within ``timeout`` seconds in total.

    Never raises, except ``CancelledError``: every failure, the deadline included, becomes
    an ERROR sample with a one-line detail (secrets redacted).

    Args:
        source: Where the value comes from.
        id: The check or metric id the sample carries.
        threshold: Where the value must lie to PASS; ``None``: success alone is PASS.
        unit: Unit of the value.
        timeout: Total deadline in seconds (httpx's own timeouts are per phase only).
        clock: The injected clock.
        staleness: Oldest acceptable age of a value (Prometheus timestamps).
        expected_artifact: Approved digest or tag for artifact sources.
        secrets: Values to redact from details.
        http: A shared client for HTTP and Prometheus sources that verify TLS; a
            temporary one is made (and closed) when not given.
    """
    clients = HttpClients(http)
    try:
        return await _measure(
            source,
            ProbeContext(
                id=id,
                threshold=threshold,
                unit=unit,
                timeout=timeout,
                clock=clock,
                staleness=staleness,
                expected_artifact=expected_artifact,
                secrets=tuple(secrets),
                http=clients,
            ),
        )
    finally:
        await clients.aclose()


async def _measure(source: Source, ctx: ProbeContext) -> Sample:
    """Dispatch with the total deadline; the scheduler calls this with its own clients."""
    try:
        async with asyncio.timeout(ctx.timeout):
            return await _dispatch(source, ctx)
    except TimeoutError:
        return ctx.error(f"no answer within the {ctx.timeout:g}s deadline")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a probe bug must become a visible ERROR, not a dead loop
        return ctx.error(f"probe failed: {type(exc).__name__}: {exc}")


async def _dispatch(source: Source, ctx: ProbeContext) -> Sample:
    if isinstance(source, SystemSource):
        return await probe_system(source, ctx)
    if isinstance(source, HttpSource):
        return await probe_http(source, ctx)
    if isinstance(source, PrometheusSource):
        return await probe_prometheus(source, ctx)
    if isinstance(source, CommandSource):
        return await probe_command(source, ctx)
    if isinstance(source, FileAgeSource):
        return await probe_file_age(source, ctx)
    if isinstance(source, ArtifactSource):
        return await probe_artifact(source, ctx)
    if isinstance(source, EnvCatalogSource):
        return await probe_env_catalog(source, ctx)
    return await probe_tcp(source, ctx)


def approved_artifact(profile: Profile) -> str | None:
    """The deployment's approved digest, or else its tag."""
    artifact = profile.deployment.artifact
    return artifact.digest or artifact.tag


def manual_sample(check: Check, clock: Clock) -> Sample:
    """The sample of a manual check: INCONCLUSIVE until a person confirms it in the cockpit."""
    role = check.manual.role if check.manual is not None else "a person"
    return Sample(
        id=check.id,
        status=Status.INCONCLUSIVE,
        value=None,
        unit="",
        measured_at=clock.wall(),
        detail=f"manual: confirmed by {role} in the cockpit",
    )


def _check_context(
    check: Check, profile: Profile, clock: Clock, secrets: Sequence[str], clients: HttpClients
) -> ProbeContext:
    assert check.source is not None
    return ProbeContext(
        id=check.id,
        threshold=check.threshold,
        unit=default_unit(check.source),
        timeout=check.timeout,
        clock=clock,
        expected_artifact=approved_artifact(profile),
        secrets=tuple(secrets),
        http=clients,
    )


def _metric_context(
    metric: Metric, clock: Clock, secrets: Sequence[str], clients: HttpClients
) -> ProbeContext:
    return ProbeContext(
        id=metric.id,
        threshold=metric.threshold,
        unit=metric.unit or default_unit(metric.source),
        timeout=metric.timeout,
        clock=clock,
        staleness=metric.staleness,
        secrets=tuple(secrets),
        http=clients,
    )


async def run_check(
    check: Check,
    profile: Profile,
    *,
    clock: Clock,
    secrets: Sequence[str] = (),
    http: httpx.AsyncClient | None = None,
) -> Sample:
    """Run one readiness check once; never raises (except ``CancelledError``).

    Manual checks are not measured: they return INCONCLUSIVE "manual: confirmed by <role>
    in the cockpit", which never counts as PASS; the confirmation itself is an event the
    engine records. The artifact check's expected identity defaults to the deployment's.
    """
    if check.source is None:
        return manual_sample(check, clock)
    clients = HttpClients(http)
    try:
        return await _measure(check.source, _check_context(check, profile, clock, secrets, clients))
    finally:
        await clients.aclose()


async def sample_metric(
    metric: Metric,
    *,
    clock: Clock,
    secrets: Sequence[str] = (),
    http: httpx.AsyncClient | None = None,
) -> Sample:
    """Take one sample of a stop-point metric with its timeout and staleness; never raises."""
    clients = HttpClients(http)
    try:
        return await sample_metric_with(metric, clock=clock, secrets=secrets, clients=clients)
    finally:
        await clients.aclose()


async def sample_metric_with(
    metric: Metric, *, clock: Clock, secrets: Sequence[str], clients: HttpClients
) -> Sample:
    """:func:`sample_metric` with clients the caller owns (the scheduler's)."""
    return await _measure(metric.source, _metric_context(metric, clock, secrets, clients))
