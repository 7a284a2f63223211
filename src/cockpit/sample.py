"""What a probe returns: one measurement, its verdict and why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """The verdict of one sample. Only PASS is GREEN."""

    PASS = "PASS"  # noqa: S105  (a verdict, not a password)
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"

    @property
    def symbol(self) -> str:
        """A symbol readable without colour."""
        return _SYMBOLS[self]


_SYMBOLS = {
    Status.PASS: "✔",
    Status.FAIL: "✘",
    Status.INCONCLUSIVE: "?",
    Status.ERROR: "!",
}
_STATUSES = {status.value: status for status in Status}
STATUSES: Mapping[str, Status] = _STATUSES
"""Each status by its journal text: a reader of millions of samples looks a status up here
and calls :func:`status_of` only for what it does not find (a bad status, which raises)."""


def status_of(data: Mapping[str, Any]) -> Status:
    """A sample's status from its journal form, as :meth:`Sample.from_json` makes it (a value
    that is not finite is never a PASS).

    Raises:
        KeyError: ``status`` is missing.
        ValueError: it is not a status, or the value is not a number.
    """
    status = _STATUSES.get(data["status"]) or Status(data["status"])
    value = data.get("value")
    if status is Status.PASS and value is not None and not math.isfinite(float(value)):
        return Status.ERROR
    return status


@dataclass(frozen=True)
class Sample:
    """One measurement of a check or a metric.

    Attributes:
        id: The check or metric id.
        status: PASS only for a fresh, finite, successfully measured value inside its threshold.
        value: The number measured, if any.
        unit: Unit of the value.
        measured_at: Wall time (epoch seconds) when the measurement completed.
        detail: Why: the measured facts or the error, in one line, secrets redacted, inert
            (see ``cockpit.inert``).
    """

    id: str
    status: Status
    value: float | None
    unit: str
    measured_at: float
    detail: str

    def __post_init__(self) -> None:
        # A non-finite value can never be evidence of health: never let it PASS.
        if self.value is not None and not math.isfinite(self.value):
            object.__setattr__(self, "value", None)
            if self.status is Status.PASS:
                object.__setattr__(self, "status", Status.ERROR)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict for the journal."""
        return {
            "id": self.id,
            "status": self.status.value,
            "value": self.value,
            "unit": self.unit,
            "at": self.measured_at,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sample:
        """Rebuild a sample from its journal form.

        Opening a day-long journal rebuilds 1.4 million samples (16 metrics at 1 Hz), so this
        fills the instance directly instead of through the frozen dataclass's ``__init__``
        (six ``object.__setattr__`` calls and an ``Enum`` call): 2.1 µs instead of 5.4 µs,
        measured. It keeps ``__post_init__``'s rule.

        Raises:
            KeyError: ``id`` or ``at`` is missing.
            ValueError: the status is not one, or a number is not a number.
        """
        value = data.get("value")
        status = _STATUSES.get(data["status"]) or Status(data["status"])
        if value is not None:
            value = float(value)
            if not math.isfinite(value):
                value = None
                if status is Status.PASS:
                    status = Status.ERROR
        sample = object.__new__(cls)
        vars(sample).update(
            id=str(data["id"]),
            status=status,
            value=value,
            unit=str(data.get("unit", "")),
            measured_at=float(data["at"]),
            detail=str(data.get("detail", "")),
        )
        return sample
