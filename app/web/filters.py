"""Template filters of the back office."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def localtime(value: datetime | None, timezone: str, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """A UTC time shown in the account's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


FILTERS = {"localtime": localtime}


def register(engine) -> None:
    engine.engine.filters.update(FILTERS)
