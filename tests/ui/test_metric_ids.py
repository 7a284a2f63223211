"""Metric ids that the profile allows (dots, underscores) are valid, distinct widget ids."""

from __future__ import annotations

from cockpit.ui.widgets.metrics import MetricRow, dom_id


def test_dotted_metric_ids_make_widgets() -> None:
    ids = ["http.5xx", "http_5xx", "http_d5xx", "error-rate", "a.", "a_d"]
    rows = [MetricRow(metric_id) for metric_id in ids]  # Textual raises on a bad id
    assert len({row.id for row in rows}) == len(ids)
    assert dom_id("error-rate") == "metric-error-rate"
