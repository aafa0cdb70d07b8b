"""Dates and times in text: the forms the reference recognises, and how it reads each one."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

# Dates and times the reference recognises in text (untrimmed). Day/month order is settled per
# column: month-first if some value only reads that way, day-first likewise, and text if both.
_ISO_DATE = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_SLASH_DATE = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[-/])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})"
    r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?: ?(?P<p>[AaPp][Mm]))?)?"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NAMED_DATE = re.compile(r"(?P<d>\d{1,2})-(?P<mon>[A-Za-z]{3})-(?P<y>\d{4})")
# A cheap filter before the per-value parse: every value must look like one of the forms.
_DATE_LIKE = (
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ].*)?|\d{1,2}[-/]\d{1,2}[-/]\d{4}(?: .*)?|\d{1,2}-[A-Za-z]{3}-\d{4}"
)


@dataclass(frozen=True)
class _DateReading:
    stamp: pd.Timestamp | None  # None: a date, but one that comes back null
    order: str = ""  # "mdy" or "dmy" if only that order reads it, "either" if both do
    # Which of the reference's date formats reads it (day/month order aside): a column inferred
    # from a sample only reads the formats the sample had.
    form: str = ""


def _timestamp(year: int, month: int, day: int, hour=0, minute=0, second=0, nanos=0) -> pd.Timestamp | None:
    try:
        dt.datetime(year, month, day, hour, minute, second)  # validates (Feb 30 is not a date)
    except ValueError:
        return None
    try:
        return pd.Timestamp(
            year=year, month=month, day=day, hour=hour, minute=minute, second=second
        ) + pd.Timedelta(nanoseconds=nanos)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None


def _read_date(text: str) -> _DateReading | None:
    """How the reference reads ``text`` as a date, or None if it is no date at all."""
    match = _ISO_DATE.fullmatch(text)
    if match:
        parts = match.groupdict()
        fraction = (parts["f"] or "").ljust(9, "0")
        stamp = _timestamp(
            int(parts["y"]), int(parts["m"]), int(parts["d"]),
            int(parts["H"] or 0), int(parts["M"] or 0), int(parts["S"] or 0), int(fraction or 0),
        )  # fmt: skip
        if stamp is None:
            return None
        zone = parts["tz"]
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            stamp -= sign * pd.Timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        time_sep = text[10:11] if parts["H"] else ""
        zone_kind = "Z" if zone == "Z" else ":" if zone and ":" in zone else "+" if zone else ""
        form = f"ymd{parts['sep']}{time_sep}{'.' if parts['f'] else ''}{zone_kind}"
        return _DateReading(stamp, form=form)
    match = _NAMED_DATE.fullmatch(text)
    if match:
        month = match["mon"].lower()
        if month not in _MONTHS:
            return None
        stamp = _timestamp(int(match["y"]), _MONTHS.index(month) + 1, int(match["d"]))
        return None if stamp is None else _DateReading(stamp, form="d-mon-y")
    match = _SLASH_DATE.fullmatch(text)
    if not match:
        return None
    hour, minute, second = int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0)
    if match["p"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["p"].lower() == "pm" else 0)
    year, first, second_part = int(match["y"]), int(match["a"]), int(match["b"])
    month_first = _timestamp(year, first, second_part, hour, minute, second)
    day_first = _timestamp(year, second_part, first, hour, minute, second)
    time = "" if not match["H"] else ":S" if match["S"] else ":"
    form = "dm" + match["sep"] + time + ("p" if match["p"] else "")
    if month_first is not None and day_first is not None:
        return _DateReading(None, "either", form)
    if month_first is not None:
        return _DateReading(month_first, "mdy", form)
    if day_first is not None:
        return _DateReading(day_first, "dmy", form)
    return None
