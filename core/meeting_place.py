"""Where a session meets: a video link made from the community's ``video_link_template``.

The template names the room by ``{session_uid}`` (e.g. ``https://meet.jit.si/peermatch-
{session_uid}``). A booked session's uid is its calendar UID without the domain
(``session-12-3f9a...``): random, so nobody outside the session can guess the room. A match
has a room of its own for its intro (before any session is booked), named by a digest of
the match's identity, and an office-hour seat uses its occurrence's room, so everyone in
that hour meets in one place.

The link appears in the intro, the invites, the reminders and the calendar file
(LOCATION/URL). An empty template means no link (Discord matches may still get a voice
channel: adapters/discord/spaces.py).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from core.model import Match

PLACEHOLDER = "{session_uid}"
_SAFE = re.compile(r"[^A-Za-z0-9-]+")


def check_template(value: str) -> str:
    """A template is empty, or an https:// address holding ``{session_uid}`` once and no
    other braces (so nothing else is ever formatted into it). Raises ValueError."""
    text = value.strip()
    if not text:
        return ""
    if not text.startswith("https://"):
        raise ValueError("the video link must start with https://")
    if text.count(PLACEHOLDER) != 1:
        raise ValueError("the video link must contain {session_uid} once")
    if "{" in text.replace(PLACEHOLDER, "") or "}" in text.replace(PLACEHOLDER, ""):
        raise ValueError("the only placeholder allowed is {session_uid}")
    if any(c.isspace() for c in text):
        raise ValueError("the video link must not contain spaces")
    return text


def room_of_uid(ics_uid: str) -> str:
    """The room name of a calendar UID: its part before ``@``, in letters, digits and
    dashes (``session-12-3f9a@peermatch.invalid`` -> ``session-12-3f9a``)."""
    return _SAFE.sub("-", ics_uid.split("@", 1)[0]).strip("-")


def room_of_match(match: Match) -> str:
    """The match's own room (for the intro): not guessable from the match number alone."""
    seed = f"{match.community_id}:{match.id}:{match.created_at.isoformat()}"
    return f"match-{match.id}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def room_of_office_hour(hour_id: int | None, k: int, community_id: int,
                        created_at: datetime) -> str:
    """The room of one office-hour occurrence: everyone with a seat meets there."""
    seed = f"{community_id}:oh{hour_id}:{created_at.isoformat()}"
    return f"office-hour-{hour_id}-{k}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def link(template: str, room: str) -> str:
    """The template with the room filled in; '' when there is no template."""
    return template.replace(PLACEHOLDER, room) if template else ""


def session_link(template: str, ics_uid: str) -> str:
    """The video link of a session (or seat) by its calendar UID; '' when none."""
    return link(template, room_of_uid(ics_uid))


def match_link(template: str, match: Match) -> str:
    """The match's own room link for its intro; '' without a template, and for an
    anonymous match (a shared call would show the person who asked to stay anonymous; they
    may still share a link themselves through ``/peer message``)."""
    return "" if match.is_anonymous else link(template, room_of_match(match))


def for_session(template: str, match: Match, ics_uid: str) -> str:
    """The session's room link ('' for an anonymous match, as ``match_link``)."""
    return "" if match.is_anonymous else session_link(template, ics_uid)


def line(url: str) -> str:
    """The sentence a message carries for the link ('' when there is none)."""
    return f"📹 **Where:** {url}\n" if url else ""
