"""ONE declaration of every command, option and form, and their validation.

Discord renders it as app commands + paginated modals, Slack as the ``/peer`` sub-command
grammar + Block Kit modals, the console as typed commands + prompts. Adding a command means
declaring it here and writing one service function (core/services/registry.py routes it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.availability import AvailabilityError, TimeZoneError, check_timezone, normalised
from core.model import Mode, Setup
from core.settings import CommunitySettings
from core.text import clean_display


class Kind(StrEnum):
    TEXT = "text"  # one line
    PARAGRAPH = "paragraph"  # multi-line text
    CHOICE = "choice"  # one of ``choices`` (or a settings list)
    MULTI = "multi"  # several of ``choices``, comma separated in text form
    INT = "int"
    BOOL = "bool"
    USER = "user"  # a platform user id (adapters turn mentions into ids)
    TIMEZONE = "timezone"  # IANA name, autocompleted
    AVAILABILITY = "availability"  # weekly windows, see core/availability.py
    WHEN = "when"  # a local date and time, 'YYYY-MM-DD HH:MM', or a suggested slot number


@dataclass(frozen=True)
class Field:
    """One option of a command or one input of a form."""

    name: str
    label: str
    kind: Kind = Kind.TEXT
    required: bool = True
    description: str = ""
    max_length: int = 100
    choices: tuple[str, ...] = ()
    choices_from: str = ""  # a CommunitySettings attribute holding the choices
    min_value: int | None = None
    max_value: int | None = None
    placeholder: str = ""

    def options(self, settings: CommunitySettings) -> tuple[str, ...]:
        """The allowed values, static or from the community's settings."""
        if self.choices_from:
            values = getattr(settings, self.choices_from)
            return tuple(str(v) for v in values)
        return self.choices


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Command:
    """A command. ``group`` is 'peer' (learners) or 'peeradmin' (moderators)."""

    group: str
    name: str
    description: str
    options: tuple[Field, ...] = ()
    moderator: bool = False
    usage: str = ""

    @property
    def key(self) -> str:
        return f"{self.group} {self.name}"


# ---- fields shared by forms ---------------------------------------------------------------
MODE = Field("mode", "What are you looking for?", Kind.CHOICE, choices=tuple(m.value for m in Mode),
             description="study-buddy, study-group, accountability, offer-support or need-support")
TOPIC = Field("topic", "Topic / module", Kind.CHOICE, choices_from="topics", max_length=80)
LANGUAGES = Field("languages", "Languages you can study in", Kind.MULTI, choices_from="languages",
                  max_length=200, placeholder="English, Spanish")
TIMEZONE = Field("timezone", "Your time zone", Kind.TIMEZONE, max_length=64,
                 placeholder="Europe/London")
AVAILABILITY = Field("availability", "When are you free each week?", Kind.AVAILABILITY,
                     max_length=300, placeholder="Mon-Fri 18:00-21:00, Sat 10:00-14:00 or Flexible")
COHORT = Field("cohort", "Cohort", Kind.CHOICE, required=False, choices_from="cohorts",
               max_length=60)
COUNTRY = Field("country", "Country", Kind.TEXT, required=False, max_length=60)
# a preference unless the learner picks "only-...": then nothing else is matched
SETUP = Field("setup", "How you like to meet", Kind.CHOICE, required=False,
              choices=tuple(s.value for s in Setup),
              description="a preference; pick only-... if nothing else works for you")
GOAL = Field("goal", "Your goal", Kind.PARAGRAPH, required=False, max_length=500)
CONTACT = Field("contact", "Contact to share with your match", Kind.TEXT,
                required=False, max_length=80, placeholder="phone, email or handle")
GROUP_SIZE = Field("group_size", "Preferred group size", Kind.INT, required=False,
                   min_value=3, max_value=5)
SUPPORT_NEEDED = Field("support_kind", "What kind of support do you need?", Kind.CHOICE,
                       choices_from="support_kinds")
SUPPORT_OFFERED = Field("support_kind", "What kind of support can you offer?", Kind.CHOICE,
                        choices_from="support_kinds")
CAPACITY = Field("capacity", "How many learners can you support at once?", Kind.INT,
                 min_value=1, max_value=10)
ANONYMOUS = Field("anonymous", "Stay anonymous to your supporter?", Kind.BOOL, required=False)
ROTATE = Field("rotate_partners", "New partners every few weeks? (no: keep them)", Kind.BOOL,
               required=False, description="yes: rotate every rematch_every_weeks weeks")

# Learning / teaching styles (the tutoring seed): optional, a soft score term in matching.
STYLES = ("visual", "auditory", "reading-writing", "hands-on")
STYLES_FIELD = Field("styles", "Learning / teaching styles (optional)", Kind.MULTI,
                     required=False, choices=STYLES, max_length=80,
                     placeholder="visual, hands-on",
                     description="visual, auditory, reading-writing or hands-on")

_COMMON = (TOPIC, LANGUAGES, TIMEZONE, AVAILABILITY, COHORT, COUNTRY, SETUP, GOAL, CONTACT)
_EXTRA: dict[Mode, tuple[Field, ...]] = {
    Mode.STUDY_BUDDY: (),
    Mode.STUDY_GROUP: (GROUP_SIZE, ROTATE),
    Mode.ACCOUNTABILITY: (ROTATE,),
    Mode.OFFER_SUPPORT: (SUPPORT_OFFERED, CAPACITY, STYLES_FIELD),
    Mode.NEED_SUPPORT: (SUPPORT_NEEDED, ANONYMOUS, STYLES_FIELD),
}

CRITERIA: dict[str, tuple[str, ...]] = {
    # who is rated -> the criteria they are rated on
    "supporter": ("clarity", "responsiveness"),
    "supported": ("preparedness", "engagement"),
    "peer": ("preparedness", "engagement", "responsiveness"),
}


def _score(name: str) -> Field:
    return Field(name, f"{name.capitalize()} (1-5)", Kind.INT, min_value=1, max_value=5)


def _profile_fields(mode: Mode) -> tuple[Field, ...]:
    return _COMMON[:4] + _EXTRA[mode] + _COMMON[4:]


FORMS: dict[str, Form] = {
    **{
        f"join-{mode.value}": Form(f"join-{mode.value}", f"Join: {mode.label}",
                                   _profile_fields(mode))
        for mode in Mode
    },
    # The same fields, titled for what they do: editing a saved profile is not joining.
    **{
        f"profile-{mode.value}": Form(f"profile-{mode.value}", f"Edit profile: {mode.label}",
                                      _profile_fields(mode))
        for mode in Mode
    },
    **{
        f"feedback-{role}": Form(
            f"feedback-{role}", "Feedback",
            tuple(_score(c) for c in crit)
            + (Field("comment", "Comment", Kind.PARAGRAPH, required=False, max_length=500),),
        )
        for role, crit in CRITERIA.items()
    },
}

USER = Field("user", "Learner", Kind.USER, max_length=64)
REASON = Field("reason", "Reason", Kind.TEXT, max_length=300)
MATCH_ID = Field("match", "Match number", Kind.INT, min_value=1)
SESSION_ID = Field("session", "Session number", Kind.INT, min_value=1)
WHEN = Field("when", "When (your local time)", Kind.WHEN, max_length=40,
             description="'YYYY-MM-DD HH:MM' in your time zone, or the number of a suggested time")
# Lengths a proposed session may have (minutes); without one, the community's session_minutes.
SESSION_LENGTHS = ("30", "45", "60", "90")
MINUTES = Field("minutes", "Length (minutes)", Kind.CHOICE, required=False,
                choices=SESSION_LENGTHS, description="30, 45, 60 or 90 minutes")
PROPOSAL_ID = Field("proposal", "Proposal number", Kind.INT, min_value=1)
OFFER_ID = Field("offer", "Offer number", Kind.INT, min_value=1)

COMMANDS: tuple[Command, ...] = (
    # ---- learners ----
    Command("peer", "join", "Ask for a study buddy, group, accountability partner or support",
            (MODE,)),
    Command("peer", "status", "Where you are: queue position, time waited, your match"),
    Command("peer", "leave", "Leave the queue"),
    Command("peer", "unpair", "End your current match (your partner is told)",
            (Field("reason", "Why are you unpairing?", Kind.TEXT, max_length=300),
             Field("match", "Match number (if you have several)", Kind.INT, required=False,
                   min_value=1))),
    Command("peer", "rejoin", "Join the queue again with your saved profile"),
    Command("peer", "profile", "See your saved profile, or edit it",
            (Field("action", "view or edit", Kind.CHOICE, required=False,
                   choices=("view", "edit")),)),
    Command("peer", "pause", "Pause matching for some weeks",
            (Field("weeks", "Weeks", Kind.INT, min_value=1, max_value=12),)),
    Command("peer", "resume", "Resume matching after a pause"),
    Command("peer", "forget", "Delete all your data from PeerMatch",
            (Field("confirm", "Type yes to confirm", Kind.BOOL),)),
    Command("peer", "schedule", "Propose a session time to your match; it is booked once "
            "they accept",
            (WHEN, Field("match", "Match number (if you have several)", Kind.INT, required=False,
                         min_value=1), MINUTES),
            usage="/peer schedule 2026-12-12 13:00 19"),
    Command("peer", "reschedule", "Propose a new time for a booked session",
            (SESSION_ID, WHEN, MINUTES)),
    Command("peer", "accept", "Accept a proposed session time (it is booked when all accept)",
            (PROPOSAL_ID,)),
    Command("peer", "decline", "Decline a proposed session time (nothing is booked)",
            (PROPOSAL_ID,)),
    Command("peer", "cancel", "Cancel a booked session", (SESSION_ID,)),
    Command("peer", "sessions", "Your upcoming sessions"),
    Command("peer", "met", "Tell us whether you met your match",
            (Field("answer", "Did you meet?", Kind.CHOICE,
                   choices=("yes", "not-yet", "no", "no-show"),
                   description="yes, not-yet, no (unpair) or no-show (they didn't come)"),
             Field("match", "Match number", Kind.INT, required=False, min_value=1),
             Field("who", "Who didn't show up (in a group)", Kind.USER, required=False,
                   max_length=64))),
    Command("peer", "skip", "Sit out the next matching round (you stay in the queue)"),
    Command("peer", "requeue", "Find me someone new: back in the queue with your waiting time, "
            "after a partner left",
            (Field("match", "Match number", Kind.INT, required=False, min_value=1),)),
    Command("peer", "feedback", "Rate your partner after a session",
            (Field("match", "Match number", Kind.INT, required=False, min_value=1),
             Field("session", "Session number", Kind.INT, required=False, min_value=1))),
    Command("peer", "message", "Send a message to your match through the bot (anonymous mode)",
            (Field("text", "Message", Kind.PARAGRAPH, max_length=1500),
             Field("match", "Match number", Kind.INT, required=False, min_value=1))),
    Command("peer", "help", "What PeerMatch can do and how"),
    Command("peer", "office-hours", "Book a seat in a supporter's office hours, or publish yours",
            (Field("action", "What to do", Kind.CHOICE, required=False,
                   choices=("list", "book", "leave", "mine", "add", "cancel", "end"),
                   description="list [topic], book <id>, leave <seat>, mine; supporters: "
                   "add <when>, cancel <id>-<n>, end <id>"),
             Field("details", "Details", Kind.TEXT, required=False, max_length=200,
                   placeholder="Tue 18:00-20:00 every week, 3 seats, topic Python"))),
    Command("peer", "support-accept", "Accept a learner offered to you as their supporter",
            (OFFER_ID,)),
    Command("peer", "support-decline", "Decline a learner offered to you (another supporter "
            "is asked)", (OFFER_ID,)),
    Command("peer", "supporting", "As a supporter: your learners, upcoming sessions, "
            "ratings and open offers"),
    # ---- moderators ----
    Command("peeradmin", "queue", "Who is waiting, by mode and topic",
            (Field("mode", "Mode", Kind.CHOICE, required=False, choices=MODE.choices),
             Field("topic", "Topic", Kind.TEXT, required=False, max_length=80)), moderator=True),
    Command("peeradmin", "match-now", "Run a matching round now (or preview it)",
            (Field("dry_run", "Preview only", Kind.BOOL, required=False),), moderator=True),
    Command("peeradmin", "pair", "Pair two learners by hand",
            (Field("user_a", "First learner", Kind.USER, max_length=64),
             Field("user_b", "Second learner", Kind.USER, max_length=64),
             Field("confirm", "Pair even if they asked for different things", Kind.BOOL,
                   required=False)), moderator=True),
    Command("peeradmin", "end-match", "End a match", (MATCH_ID, REASON), moderator=True),
    Command("peeradmin", "remove", "Remove a learner from the queue", (USER, REASON),
            moderator=True),
    Command("peeradmin", "ban", "Ban a learner from PeerMatch", (USER, REASON), moderator=True),
    Command("peeradmin", "unban", "Lift a ban", (USER,), moderator=True),
    Command("peeradmin", "export", "Download learners, matches or feedback as CSV",
            (Field("what", "What to export", Kind.CHOICE,
                   choices=("learners", "matches", "feedback")),),
            moderator=True),
    Command("peeradmin", "stats", "Match rate, waiting time, meetings and ratings, with a chart",
            moderator=True),
    Command("peeradmin", "config", "See or change this community's settings",
            (Field("key", "Setting", Kind.TEXT, required=False, max_length=60),
             Field("value", "New value", Kind.TEXT, required=False, max_length=1000)),
            moderator=True),
    Command("peeradmin", "deliveries", "Messages PeerMatch gave up sending, and sending them again",
            (Field("retry", "Send again: a delivery number or all", Kind.TEXT, required=False,
                   max_length=20, placeholder="all"),), moderator=True),
    Command("peeradmin", "verify", "Mark a supporter verified (for every topic, or some)",
            (USER, Field("topics", "Topics (empty: all)", Kind.MULTI, required=False,
                         choices_from="topics", max_length=300)), moderator=True),
    Command("peeradmin", "unverify", "Take a supporter's verified badge away", (USER,),
            moderator=True),
)

COMMANDS_BY_KEY: dict[str, Command] = {c.key: c for c in COMMANDS}


def command(key: str) -> Command | None:
    return COMMANDS_BY_KEY.get(key)


def join_form(mode: Mode) -> Form:
    return FORMS[f"join-{mode.value}"]


def profile_form(mode: Mode) -> Form:
    """The profile editing form of a mode: the join form's fields, its own title."""
    return FORMS[f"profile-{mode.value}"]


_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off", ""}


def _clean_choice(value: str, allowed: tuple[str, ...]) -> str:
    for option in allowed:
        if option.casefold() == value.casefold():
            return option
    shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    raise ValueError(f"'{_short(value)}' is not one of: {shown}.")


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _as_typed(_f: Field, value: str, _settings: CommunitySettings) -> str:
    return value


def _one_choice(f: Field, value: str, settings: CommunitySettings) -> str:
    allowed = f.options(settings)
    return _clean_choice(value, allowed) if allowed else value


def _several_choices(f: Field, value: str, settings: CommunitySettings) -> tuple[str, ...]:
    items = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    allowed = f.options(settings)
    cleaned = [_clean_choice(v, allowed) if allowed else v for v in items]
    if not cleaned:
        raise ValueError("needs at least one value.")
    return tuple(dict.fromkeys(cleaned))


def _whole_number(f: Field, value: str, _settings: CommunitySettings) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"'{_short(value)}' is not a whole number.") from None
    if f.min_value is not None and number < f.min_value:
        raise ValueError(f"must be at least {f.min_value}.")
    if f.max_value is not None and number > f.max_value:
        raise ValueError(f"must be at most {f.max_value}.")
    return number


def _yes_or_no(_f: Field, value: str, _settings: CommunitySettings) -> bool:
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"'{_short(value)}' is not yes or no.")


def _time_zone(_f: Field, value: str, _settings: CommunitySettings) -> str:
    return check_timezone(value).key


def _weekly_windows(f: Field, value: str, _settings: CommunitySettings) -> str:
    # Stored as understood (invisible characters gone, hours on a 24-hour clock), so
    # the profile shows what matching uses; raises AvailabilityError naming the bad part.
    return normalised(value, f.max_length)


# How each kind of field turns cleaned text into its value (or refuses it with a ValueError).
_CLEANERS: dict[Kind, Callable[[Field, str, CommunitySettings], Any]] = {
    Kind.TEXT: _as_typed, Kind.PARAGRAPH: _as_typed, Kind.USER: _as_typed, Kind.WHEN: _as_typed,
    Kind.CHOICE: _one_choice, Kind.MULTI: _several_choices, Kind.INT: _whole_number,
    Kind.BOOL: _yes_or_no, Kind.TIMEZONE: _time_zone, Kind.AVAILABILITY: _weekly_windows,
}


def clean_value(f: Field, raw: str, settings: CommunitySettings) -> Any:
    """Validate and convert one raw value; raise ValueError with a polite message.
    Every value typed by someone may be shown to others (goals, reasons, relayed messages):
    bidi overrides and zero-width characters go here, once, before anything else."""
    value = clean_display(raw).strip()
    if len(value) > f.max_length:
        raise ValueError(f"is too long ({len(value)} characters, at most {f.max_length}).")
    cleaner = _CLEANERS.get(f.kind)
    if cleaner is None:  # pragma: no cover - catalogue bug
        raise ValueError(f"has an unknown kind {f.kind}.")
    return cleaner(f, value, settings)


def validate(fields: tuple[Field, ...], raw: Mapping[str, str],
             settings: CommunitySettings) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate raw strings against fields. Returns (clean values, errors by field name).

    Missing optional fields are left out of the values. Unknown keys are ignored.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        raw_value = raw.get(f.name)
        if raw_value is None or not str(raw_value).strip():
            if f.required and f.kind is not Kind.BOOL:
                errors[f.name] = f"{f.label}: this is required."
            continue
        try:
            values[f.name] = clean_value(f, str(raw_value), settings)
        except (AvailabilityError, TimeZoneError) as exc:
            errors[f.name] = f"{f.label}: {exc}"
        except ValueError as exc:
            errors[f.name] = f"{f.label}: {exc}"
    return values, errors


def help_lines(moderator: bool) -> list[str]:
    """One line per command the reader may use."""
    lines = []
    for c in COMMANDS:
        if c.moderator and not moderator:
            continue
        args = " ".join(f"<{o.name}>" if o.required else f"[{o.name}]" for o in c.options)
        line = f"`/{c.group} {c.name}{(' ' + args) if args else ''}`: {c.description}"
        if any(o.kind is Kind.WHEN for o in c.options):
            line += " (`when`: YYYY-MM-DD HH:MM in your time, or a suggested time's number)"
        if c.usage:
            line += f"; e.g. `{c.usage}`"
        lines.append(line)
    return lines
