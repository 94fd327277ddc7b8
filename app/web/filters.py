"""Template filters of the back office."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from litestar.plugins.jinja import JinjaTemplateEngine

from app.config import get_settings


def localtime(value: datetime | None, timezone: str, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """A UTC time shown in the account's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


FILTERS = {"localtime": localtime}


def register(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)
    # Templates change only with a deploy: do not stat every template file on every render.
    engine.engine.auto_reload = get_settings().debug
