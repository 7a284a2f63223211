"""Helpers shared by the test suites: the demo service and a real Prometheus server."""

from __future__ import annotations
