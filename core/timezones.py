"""Time zone names as people type them, resolved to IANA zones.

``check_timezone`` accepts, in this order:

* an IANA name in any case, spaces for underscores (``utc``, ``europe/paris``,
  ``America/New York``), or a city alone when only one zone has it (``paris``);
* a common abbreviation or name (``CET``, ``PST``, ``JST``, ``Eastern Time``); the ones
  that mean several places (``IST``, ``CST``, ``BST``...) raise ``TimeZoneError`` with a
  question and the choices;
* a UTC offset (``UTC+2``, ``GMT+2``, ``+02:00``, ``UTC-05:30``): a whole hour is the fixed
  zone ``Etc/GMT-2`` (POSIX signs: ``Etc/GMT-2`` *is* UTC+02:00); a fraction of an hour is the
  zone that keeps exactly that offset all year (``Asia/Kolkata`` for UTC+05:30), if one does.

``timezone_note`` explains a fixed offset in the join confirmation (no daylight saving time;
real zones at that offset), and ``zone_label`` shows ``Etc/GMT-2`` as ``UTC+02:00``.
Offsets are compared on two fixed dates, mid-January and mid-July, so results never depend
on the wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from core.text import clean_input

_SAMPLES = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))
_REGIONS = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/",
            "Pacific/")
# Zones most learners live in: suggested first among those sharing an offset.
_POPULAR = (
    "Europe/London", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
    "Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg", "Europe/Athens", "Europe/Kyiv",
    "Africa/Nairobi", "Europe/Istanbul", "Europe/Moscow", "Asia/Riyadh", "Asia/Tehran",
    "Asia/Dubai", "Asia/Kabul", "Asia/Karachi", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka",
    "Asia/Yangon", "Asia/Bangkok", "Asia/Jakarta", "Asia/Shanghai", "Asia/Singapore",
    "Asia/Manila", "Australia/Perth", "Asia/Tokyo", "Asia/Seoul", "Australia/Darwin",
    "Australia/Adelaide", "Australia/Brisbane", "Australia/Sydney", "Pacific/Auckland",
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Phoenix",
    "America/Denver", "America/Mexico_City", "America/Chicago", "America/Bogota",
    "America/Lima", "America/New_York", "America/Toronto", "America/Halifax",
    "America/Caracas", "America/Santiago", "America/St_Johns", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "Atlantic/Azores",
)
# Abbreviations and names with one meaning for learners; IANA's own EST/MST/HST are fixed
# offsets, which is not what people writing "EST" mean, so these win over IANA names.
_ABBREVIATIONS = {
    "z": "UTC", "zulu": "UTC", "utc": "UTC", "gmt": "GMT",
    "cet": "CET", "cest": "CET", "eet": "EET", "eest": "EET", "wet": "WET", "west": "WET",
    "msk": "Europe/Moscow", "wat": "Africa/Lagos", "cat": "Africa/Maputo",
    "eat": "Africa/Nairobi", "sast": "Africa/Johannesburg", "pkt": "Asia/Karachi",
    "npt": "Asia/Kathmandu", "ict": "Asia/Bangkok", "wib": "Asia/Jakarta",
    "sgt": "Asia/Singapore", "hkt": "Asia/Hong_Kong", "pht": "Asia/Manila",
    "jst": "Asia/Tokyo", "kst": "Asia/Seoul", "awst": "Australia/Perth",
    "acdt": "Australia/Adelaide", "aedt": "Australia/Sydney", "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland", "hst": "Pacific/Honolulu", "akst": "America/Anchorage",
    "akdt": "America/Anchorage", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles", "mdt": "America/Denver", "cdt": "America/Chicago",
    "ct": "America/Chicago", "est": "America/New_York", "edt": "America/New_York",
    "et": "America/New_York", "adt": "America/Halifax", "nst": "America/St_Johns",
    "ndt": "America/St_Johns", "brt": "America/Sao_Paulo", "art": "America/Argentina/Buenos_Aires",
    "pet": "America/Lima", "cot": "America/Bogota",
    "eastern": "America/New_York", "eastern time": "America/New_York",
    "central time": "America/Chicago", "mountain time": "America/Denver",
    "pacific": "America/Los_Angeles", "pacific time": "America/Los_Angeles",
    "india standard time": "Asia/Kolkata", "central european time": "CET",
    "british summer time": "Europe/London", "irish standard time": "Europe/Dublin",
}
_AMBIGUOUS = {
    "ist": ("India", "Asia/Kolkata", "Ireland", "Europe/Dublin", "Israel", "Asia/Jerusalem"),
    "cst": ("US/Canada Central", "America/Chicago", "China", "Asia/Shanghai",
            "Cuba", "America/Havana"),
    "bst": ("British Summer Time", "Europe/London", "Bangladesh", "Asia/Dhaka"),
    "ast": ("Atlantic (Canada, Caribbean)", "America/Halifax", "Arabia", "Asia/Riyadh"),
    "gst": ("Gulf", "Asia/Dubai", "South Georgia", "Atlantic/South_Georgia"),
    "mst": ("US Mountain with DST", "America/Denver", "Arizona (no DST)", "America/Phoenix"),
    "mt": ("US Mountain with DST", "America/Denver", "Arizona (no DST)", "America/Phoenix"),
    "aest": ("Sydney, Melbourne (with DST)", "Australia/Sydney", "Queensland (no DST)",
             "Australia/Brisbane"),
    "acst": ("Adelaide (with DST)", "Australia/Adelaide", "Darwin (no DST)", "Australia/Darwin"),
    "sst": ("Samoa", "Pacific/Pago_Pago", "Singapore", "Asia/Singapore"),
}
_OFFSET = re.compile(r"^(?:utc|gmt|z)?\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?$")


class TimeZoneError(ValueError):
    """Not a time zone we can place; ``choices`` are the zones the text may have meant."""

    def __init__(self, message: str, choices: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.choices = choices


@cache
def _by_lower() -> dict[str, str]:
    return {z.lower(): z for z in available_timezones()}


@cache
def _by_city() -> dict[str, tuple[str, ...]]:
    cities: dict[str, list[str]] = {}
    for z in sorted(available_timezones()):
        if z.startswith(_REGIONS):
            cities.setdefault(z.rsplit("/", 1)[-1].lower(), []).append(z)
    return {c: tuple(zs) for c, zs in cities.items()}


def _offsets(key: str) -> tuple[timedelta, timedelta]:
    zone = ZoneInfo(key)
    jan, jul = (zone.utcoffset(s) or timedelta() for s in _SAMPLES)
    return jan, jul


@cache
def _regional_offsets() -> tuple[tuple[str, timedelta, timedelta], ...]:
    rank = {z: i for i, z in enumerate(_POPULAR)}
    zones = sorted((z for z in available_timezones() if z.startswith(_REGIONS)),
                   key=lambda z: (rank.get(z, len(rank)), z))
    return tuple((z, *_offsets(z)) for z in zones)


def zones_at(offset: timedelta, limit: int = 5, all_year: bool = False) -> list[str]:
    """Real (regional) zones at ``offset`` in January or July, popular ones first; with
    ``all_year`` only those that keep it in both."""
    hits = [z for z, jan, jul in _regional_offsets()
            if ((jan == offset and jul == offset) if all_year else offset in (jan, jul))]
    return hits[:limit]


def _fmt_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _from_offset(text: str, m: re.Match[str]) -> str:
    hours, minutes = int(m["h"]), int(m["m"] or 0)
    sign = -1 if m["sign"] == "-" else 1
    offset = sign * timedelta(hours=hours, minutes=minutes)
    if minutes > 59 or not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        raise TimeZoneError(f"'{text}' is not a UTC offset; they run from UTC-12 to UTC+14.")
    if not offset:
        return "UTC"
    if not minutes:
        return f"Etc/GMT{-sign * hours:+d}"  # POSIX sign: Etc/GMT-2 is two hours AHEAD of UTC
    steady = zones_at(offset, 1, all_year=True)
    if steady:
        return steady[0]
    seasonal = zones_at(offset)
    if seasonal:
        raise TimeZoneError(f"No zone keeps {_fmt_offset(offset)} all year. Which is yours: "
                            f"{', '.join(seasonal)}?", tuple(seasonal))
    whole = [f"UTC{sign * h:+d}" for h in (hours, hours + 1)]
    raise TimeZoneError(f"No time zone uses {_fmt_offset(offset)}. Write your city's zone "
                        f"(e.g. Europe/London) or a whole-hour offset like {' or '.join(whole)}.")


def resolve_timezone(name: str) -> str:
    """The IANA key ``name`` means; raise TimeZoneError with a hint or a question."""
    text = clean_input(name).replace("\u2212", "-")
    low = " ".join(text.lower().split())
    if not low or low in {"local", "localtime"}:
        raise TimeZoneError(f"'{text}' is not a time zone; use an IANA name like Europe/London.")
    if low in _AMBIGUOUS:
        pairs = _AMBIGUOUS[low]
        labels, zones = pairs[::2], pairs[1::2]
        listed = ", ".join(f"{z} ({label})" for label, z in zip(labels, zones, strict=True))
        raise TimeZoneError(f"{text.upper()} means different places. Which one: {listed}?",
                            tuple(zones))
    if low in _ABBREVIATIONS:
        return _ABBREVIATIONS[low]
    key = _by_lower().get(re.sub(r"\s*/\s*", "/", low).replace(" ", "_"))
    if key:
        return key
    m = _OFFSET.match(low)
    if m:
        return _from_offset(text, m)
    cities = _by_city().get(low.replace(" ", "_"), ())
    if len(cities) == 1:
        return cities[0]
    hint = list(cities[:3]) or _containing(low, 3)
    extra = f" Did you mean {', '.join(hint)}?" if hint else ""
    raise TimeZoneError(f"Unknown time zone '{text}'. Use an IANA name like Europe/London or "
                        f"America/Lima, or an offset like UTC+2.{extra}", tuple(hint))


def check_timezone(name: str) -> ZoneInfo:
    """The zone ``name`` means (see the module docstring), or TimeZoneError with a hint."""
    return ZoneInfo(resolve_timezone(name))


def is_fixed_offset(key: str) -> bool:
    """Whether the zone is a bare offset (``Etc/GMT-2``): no daylight saving time."""
    return key.startswith("Etc/") and key not in ("Etc/UTC", "Etc/GMT", "Etc/UCT")


def zone_label(key: str) -> str:
    """The zone as a person reads it: ``UTC+02:00`` for ``Etc/GMT-2``, the name otherwise."""
    if is_fixed_offset(key):
        return _fmt_offset(_offsets(key)[0])
    return key


def timezone_note(key: str) -> str:
    """A sentence for the join confirmation when the zone is a fixed offset, else ''."""
    if not is_fixed_offset(key):
        return ""
    offset = _offsets(key)[0]
    real = zones_at(offset, 4)
    tail = f", such as {', '.join(real)}" if real else ""
    return (f"{_fmt_offset(offset)} is a fixed offset: it has no daylight saving time. If your "
            f"clocks change in summer, pick your real zone instead{tail}.")


@cache
def _names() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def _containing(fragment: str, limit: int) -> list[str]:
    needle = fragment.strip().lower().replace(" ", "_")
    return [z for z in _names() if needle in z.lower()][:limit]


def suggest_timezones(fragment: str, limit: int = 25) -> list[str]:
    """Time zone names for autocomplete: what the fragment resolves to (or the choices an
    ambiguous abbreviation offers) first, then names containing it (case-insensitive)."""
    first: list[str] = []
    if fragment.strip():
        try:
            first = [resolve_timezone(fragment)]
        except TimeZoneError as exc:
            first = list(exc.choices)
    rest = [z for z in _containing(fragment, limit + len(first)) if z not in first]
    return (first + rest)[:limit]
