"""Human durations: "90s", "5m", "1h30m", "250ms"."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(text: str) -> float:
    """Return the number of seconds in a duration such as ``"1h30m"`` or ``"90s"``.

    Raises:
        DurationError: if the text is empty, negative, or has unknown units.
    """
    raw = text.strip()
    if not raw:
        raise DurationError("empty duration; write e.g. '90s', '5m' or '1h30m'")
    if "${" in raw:
        raise DurationError(
            f"{text!r}: a duration cannot hold a ${{var:}} reference (durations are read when the "
            "profile loads); write the duration itself, e.g. '5m'"
        )
    if raw.startswith("-"):
        raise DurationError(f"negative duration {text!r}; durations are zero or more")
    pos = 0
    total = 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise DurationError(
            f"cannot read duration {text!r}; write a number with a unit: ms, s, m or h "
            "(e.g. '90s', '5m', '1h30m')"
        )
    if not math.isfinite(total):
        raise DurationError(f"duration {text!r} is not finite")
    return total


_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")
_SPOKEN_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(milliseconds?|msecs?|ms|hours?|hrs?|h|minutes?|mins?|m"
    r"|seconds?|secs?|s)(?![a-z])"
)
_SPOKEN_UNITS = {"mil": "ms", "mse": "ms", "ms": "ms", "h": "h", "m": "m", "s": "s"}


def parse_spoken_duration(text: str) -> float:
    """Return the seconds in a duration as a person types it: what ``parse_duration`` reads,
    a clock (``"5:00"``, ``"1:30:00"``) or units in words (``"5 min"``, ``"1 hour 30
    minutes"``, ``"300 secs"``). A bare number is refused: "5" could be minutes or seconds.

    Raises:
        DurationError: the text is none of these.
    """
    raw = text.strip().lower()
    clock = _CLOCK.match(raw)
    if clock:
        first, second, third = clock.groups()
        if third is None:
            return int(first) * 60.0 + int(second)
        return int(first) * 3600.0 + int(second) * 60.0 + int(third)
    parts: list[str] = []
    pos = 0
    for match in _SPOKEN_PART.finditer(raw):
        between = raw[pos : match.start()].strip(" ,")
        if between not in ("", "and"):
            break
        unit = match.group(2)
        parts.append(match.group(1) + _SPOKEN_UNITS.get(unit[:3], _SPOKEN_UNITS[unit[0]]))
        pos = match.end()
    if not parts or raw[pos:].strip(" ,."):
        raise DurationError(
            f"cannot read {text!r} as a duration: write it with a unit, e.g. 5m, 300s, 5 min "
            "or 5:00"
        )
    return parse_duration("".join(parts))


def format_duration(seconds: float) -> str:
    """Format seconds the way a profile writes them: ``"1h30m"``, ``"5m"``, ``"90s"``."""
    if seconds < 1 and seconds > 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)


def format_clock(seconds: float) -> str:
    """Format seconds as ``mm:ss`` (or ``h:mm:ss`` past an hour), never negative."""
    whole = max(0, math.floor(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def parse_moment(text: str, now: float) -> float:
    """A moment as the crew gives it: ISO-8601 (``2027-01-15T05:10:00Z``; UTC when no zone is
    given, like the journal) or a duration before ``now`` (``-25m``, ``-1h30m``).

    Raises:
        DurationError: the text is neither, or the moment is not before ``now``.
    """
    import datetime as dt

    raw = text.strip()
    if raw.startswith("-"):
        try:
            seconds = parse_duration(raw[1:])
        except DurationError:
            raise DurationError(
                f"cannot read {text!r}: write a duration before now with a unit, e.g. -25m"
            ) from None
        moment = now - seconds
    else:
        try:
            parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise DurationError(
                f"cannot read {text!r}: write an ISO-8601 time (2027-01-15T05:10:00Z) or a "
                "duration before now (-25m)"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        moment = parsed.timestamp()
    if not math.isfinite(moment) or moment >= now:
        raise DurationError(f"{text!r} is not before now; the baseline comes from the past")
    return moment
