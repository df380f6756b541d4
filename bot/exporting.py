"""`peermatch export`: a community's learners, matches or feedback to a file.

Kept apart from ``bot.commands`` on purpose: that module imports the console, every use case
and the matching engine (numpy, scipy: about a second), none of which an export needs."""

from __future__ import annotations

from typing import BinaryIO

from bot.app import build_app, find_community
from bot.config import Config
from core.services.reports import write_export


async def export(config: Config, url: str, platform: str, external_id: str, what: str,
                 fmt: str, sink: BinaryIO) -> int:
    """Write the export file of one community (CSV with a BOM, or XLSX) to ``sink`` as it
    is read, a page at a time; returns the number of rows."""
    app = build_app(config, database_url=url)
    try:
        community = await find_community(app, platform, external_id)
        assert community.id is not None
        async with app.services.uow_factory(writes=False) as uow:
            return await write_export(uow, community.id, what, fmt, sink)
    finally:
        await app.close()
