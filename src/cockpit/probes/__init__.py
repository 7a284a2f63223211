"""Probes: measure checks and stop-point metrics; never decide.

Every probe returns a :class:`~cockpit.sample.Sample` that is PASS only for a fresh, finite,
successfully measured value inside its threshold, has a total deadline, and never raises:
failures become ERROR samples with a one-line, redacted detail. The engine applies the
Argo-style limits (failure_limit, consecutive_error_limit, inconclusive hold) to them.
"""

from __future__ import annotations

from cockpit.probes.measure import default_unit, measure, run_check, sample_metric
from cockpit.probes.scheduler import ProbeScheduler

__all__ = ["ProbeScheduler", "default_unit", "measure", "run_check", "sample_metric"]
