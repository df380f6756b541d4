"""Importing learners from a spreadsheet (e.g. a Google Forms export).

Each row goes through the same ``peer join`` use case as a person typing the command, so
validation and the one-pending-request rule are the same. Rows already imported (the person
is already queued or matched) are skipped, so importing a file twice imports nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from core.model import MODE_LABELS, Mode
from core.services.context import Actor, CommandRequest, Services
from core.services.dispatch import handle

# Header words (lower case) -> our field. Google Forms headers are whole questions, so a
# header matches the first entry whose words it contains.
HEADERS: tuple[tuple[str, str], ...] = (
    ("timestamp", "timestamp"), ("user id", "user_id"), ("discord id", "user_id"),
    ("slack id", "user_id"), ("username", "user_id"), ("email", "user_id"),
    ("display name", "name"), ("full name", "name"), ("name", "name"),
    ("mode", "mode"), ("looking for", "mode"), ("connection", "mode"),
    ("topic", "topic"), ("module", "topic"), ("language", "languages"),
    ("time zone", "timezone"), ("timezone", "timezone"), ("availability", "availability"),
    ("available", "availability"), ("cohort", "cohort"), ("country", "country"),
    ("setup", "setup"), ("support", "support_kind"), ("goal", "goal"), ("phone", "contact"),
    ("contact", "contact"), ("capacity", "capacity"), ("group size", "group_size"),
    ("anonymous", "anonymous"),
)
_MODE_WORDS = {
    "buddy": Mode.STUDY_BUDDY, "group": Mode.STUDY_GROUP, "accountab": Mode.ACCOUNTABILITY,
    "offer": Mode.OFFER_SUPPORT, "behind": Mode.NEED_SUPPORT, "struggl": Mode.NEED_SUPPORT,
    "need": Mode.NEED_SUPPORT,
}


@dataclass
class ImportReport:
    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def map_headers(headers: list[str]) -> dict[str, str]:
    """Spreadsheet header -> field name, for the headers we understand."""
    mapping: dict[str, str] = {}
    for header in headers:
        low = " ".join(header.lower().replace("_", " ").split())
        for words, name in HEADERS:
            if words in low and name not in mapping.values():
                mapping[header] = name
                break
    return mapping


def parse_mode(text: str) -> Mode | None:
    low = text.strip().lower()
    for mode in Mode:
        if low in (mode.value, MODE_LABELS[mode].lower()):
            return mode
    for word, mode in _MODE_WORDS.items():
        if word in low:
            return mode
    return None


def _timestamp(text: str, fallback: datetime) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        try:
            parsed = datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - zone added below
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


async def import_rows(services: Services, platform: str, community: str,
                      rows: list[dict[str, str]], first_line: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Queue every valid row; report rows rejected (and why) and rows already imported.
    ``progress(done, total)`` is called after each row (a progress bar in the terminal)."""
    report = ImportReport()
    now = services.clock.now()
    for done, (line, row) in enumerate(enumerate(rows, first_line), 1):
        if progress is not None and done > 1:
            progress(done - 1, len(rows))
        mapping = map_headers(list(row))
        values = {mapping[h]: (v or "").strip() for h, v in row.items() if h in mapping}
        user_id = values.pop("user_id", "") or values.get("name", "")
        name = values.pop("name", "") or user_id
        if not user_id:
            report.rejected.append((line, "no user id or name"))
            continue
        mode = parse_mode(values.pop("mode", ""))
        if mode is None:
            report.rejected.append((line, "mode missing or not understood"))
            continue
        joined = _timestamp(values.pop("timestamp", ""), now)
        row_services = replace(services, clock=FixedClock(min(joined, now)))
        request = CommandRequest(platform, community, Actor(user_id, name), "peer join",
                                 {"mode": mode.value, **{k: v for k, v in values.items() if v}})
        reply = await handle(row_services, request)
        if reply.ok:
            report.imported += 1
        elif reply.data.get("code") in ("already_queued", "already_matched"):
            report.skipped.append((line, "already imported (queued or matched)"))
        else:
            report.rejected.append((line, reply.text.removeprefix("Please fix: ")))
    if progress is not None:
        progress(len(rows), len(rows))
    return report
