"""Typed settings the core works with: matching weights, per-community rules, reminders.

bot/config.py builds these from config.toml + environment; a community may override
its own part (``Community.settings``) through ``/peeradmin config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.availability import TimeZoneError, check_timezone
from core.cron import check_schedule
from core.meeting_place import check_template
from core.model import Mode
from core.settings_schema import Kind, Schema, SettingError, detail, setting


def _timezone(value: str) -> str:
    try:
        return check_timezone(value).key
    except TimeZoneError as exc:
        raise detail(str(exc)) from None


def _video_link(value: str) -> str:
    try:
        return check_template(value)
    except ValueError as exc:
        raise detail(str(exc)) from None


def _schedule(value: str) -> str:
    if problem := check_schedule(value):
        raise detail(problem)
    return value


_W = -1000.0, 1000.0  # a weight may be a penalty; beyond a thousand it drowns every other term


@dataclass(frozen=True)
class MatchingWeights:
    """Soft-score weights. A match's score = base + sum(weight * term).

    The defaults hold the order of what matters (README "Matching"): the base per match
    (more people matched) above the wait term (long waiters first) above hours together
    (capped) above cohort, country, setup and ratings, which only break near-ties."""

    base: float = setting(20.0, "every match carries it: matching more people beats more "
                          "overlap", lo=0.0, hi=_W[1])
    overlap_per_hour: float = setting(1.5, "per weekly hour in common ...", lo=_W[0], hi=_W[1])
    overlap_cap_hours: float = setting(10.0, "... counted up to this many hours", lo=0.0,
                                       hi=168.0)
    same_cohort: float = setting(1.0, "both in the same cohort", lo=_W[0], hi=_W[1])
    same_country: float = setting(0.5, "both in the same country", lo=_W[0], hi=_W[1])
    near_offset_per_hour: float = setting(
        0.2, "bonus this x (3 - |UTC offset difference in hours|), when positive",
        lo=_W[0], hi=_W[1])
    same_setup: float = setting(0.5, "same study setup (text, voice, video, in person)",
                                lo=_W[0], hi=_W[1])
    rating: float = setting(0.5, "per star above 3 of the partner's average rating (below 3: "
                            "a penalty)", lo=_W[0], hi=_W[1])
    past_partner: float = setting(-20.0, "matched together before (unpaired-from pairs are "
                                  "never matched)", lo=_W[0], hi=_W[1])
    wait_per_week: float = setting(2.0, "ageing: the longer someone waits, the sooner they "
                                   "are matched ...", lo=_W[0], hi=_W[1])
    wait_cap_weeks: float = setting(8.0, "... up to this many weeks", lo=0.0, hi=520.0)
    support_kind: float = setting(3.0, "the supporter offers the kind of support the learner "
                                  "needs", lo=_W[0], hi=_W[1])
    group_size_fit: float = setting(1.0, "per study-group member whose preferred group size "
                                    "the group has", lo=_W[0], hi=_W[1])
    same_style: float = setting(0.3, "supporter and learner share a learning/teaching style "
                                "(visual, auditory, reading-writing, hands-on)",
                                lo=_W[0], hi=_W[1])


@dataclass(frozen=True)
class CommunitySettings:
    """Rules of one community. Defaults run without any config file."""

    topics: tuple[str, ...] = setting((
        "Python", "JavaScript", "Data Science", "Machine Learning", "Web Development",
        "Calculus", "Linear Algebra", "Statistics", "Spanish", "English",
    ), "topics learners choose from", min_items=1)
    topic_families: dict[str, str] = setting(
        {}, 'topics matched together (topic = family), e.g. { "Calculus I" = "calculus", '
        '"Calculus II" = "calculus" }', chat=False)
    cohorts: tuple[str, ...] = setting((), "cohorts learners choose from; empty = free text")
    icebreakers: dict[str, str] = setting(
        {}, 'conversation starters per topic for match intros (topic = "question | question"); '
        "topics without one use the shipped lists", chat=False)
    languages: tuple[str, ...] = setting((
        "English", "Spanish", "Portuguese", "French", "German", "Arabic", "Hindi", "Swahili",
    ), "languages learners choose from", min_items=1)
    support_kinds: tuple[str, ...] = setting((
        "Concepts", "Assignments", "Exam prep", "Motivation", "Career", "Code review",
    ), "kinds of support asked for and offered", min_items=1)
    modes: tuple[Mode, ...] = setting(tuple(Mode), "modes learners may join in",
                                      choices=tuple(m.value for m in Mode), min_items=1)
    group_min: int = setting(3, "study groups: smallest size", lo=2, hi=25)
    group_max: int = setting(5, "study groups: largest size", lo=2, hi=25)
    group_default: int = setting(4, "study groups: preferred size", lo=2, hi=25)
    min_overlap_hours: float = setting(1.0, "hard rule: at least this many hours a week in "
                                       "common", lo=0.0, hi=24.0)
    session_minutes: int = setting(60, "length of suggested meeting slots and of booked "
                                   "sessions; hard rule: every match has one in common",
                                   lo=15, hi=720)
    suggested_times: int = setting(3, "how many meeting times to suggest per match", lo=1,
                                   hi=10)
    instant_match: bool = setting(False, "also match on join when a good partner already "
                                  "waits")
    schedule: str = setting("0 18 * * mon,thu", "cron of automatic rounds, in `timezone`; "
                            "off = by hand only", check=_schedule,
                            accepts="a 5-field cron line (minute hour day month weekday) or off",
                            # a stored schedule that no longer parses stops automatic rounds
                            # rather than running them at times nobody chose
                            fallback="off")
    timezone: str = setting("UTC", "the community's zone (for the schedule)", check=_timezone,
                            accepts="an IANA time zone, e.g. Europe/London")
    moderator_roles: tuple[str, ...] = setting(
        (), "Discord role ids or names, Slack usergroup ids, whose members are moderators")
    moderator_users: tuple[str, ...] = setting((), "platform user ids of moderators")
    space_mode: str = setting("auto", "where a match meets: auto (Discord channel, Slack "
                              "group DM), channel, thread or group_dm",
                              choices=("auto", "channel", "thread", "group_dm"))
    space_parent: str = setting("", "Discord: category id (channels) or channel id (threads)")
    space_on_end: str = setting("archive", "what happens to a match's space when it ends",
                                choices=("archive", "delete"))
    monthly_sessions_per_learner: int = setting(12, "sessions a learner may book a month; "
                                                "0 = unlimited", lo=0, hi=1000)
    monthly_sessions_per_community: int = setting(0, "sessions the community may book a "
                                                  "month; 0 = unlimited", lo=0, hi=1_000_000)
    max_supporter_capacity: int = setting(5, "most learners one supporter may take", lo=1,
                                          hi=50)
    checkin_after_days: int = setting(3, '"did you meet?" this many days after a match',
                                      lo=1, hi=60)
    nudge_after_hours: tuple[int, ...] = setting(
        (24, 72), "a match with no booking and no \"we met\" is bumped in its space this many "
        "hours after it was made (empty = never)", item=Kind.INT, lo=1, hi=24 * 60)
    ghost_after_unanswered: int = setting(3, "a member who leaves this many check-ins and "
                                          "intros unanswered is paused (0 = never)", lo=0, hi=20)
    rematch_every_weeks: int = setting(4, "accountability and study groups: members who chose "
                                       "to rotate get new partners after this many weeks "
                                       "(0 = everyone keeps their partners)", lo=0, hi=52)
    reminder_offsets_minutes: tuple[int, ...] = setting(
        (24 * 60, 60), "session reminders, minutes before (24 h and 1 h)", item=Kind.INT,
        lo=1, hi=20160)
    allow_outside_availability: bool = setting(True, "yes: a time outside someone's declared "
                                               "hours may be proposed (with a warning; they "
                                               "accept or decline); no: it is refused")
    commands_per_minute: int = setting(20, "per-user rate limit; 0 = unlimited", lo=0, hi=1000)
    support_offer_hours: int = setting(48, "a supporter has this many hours to accept or "
                                       "decline a learner; then the next best one is asked",
                                       lo=1, hi=24 * 30)
    support_verified_only: bool = setting(False, "yes: need-support learners are matched only "
                                          "with supporters a moderator verified (for the "
                                          "topic, when topics were given)")
    # Processes one round may use: 1 = in the bot's process; 0 = one per core for queues of
    # 5,000+ learners (forked workers; measured 19 s -> 12 s at 100,000 on 2 cores).
    matching_workers: int = setting(1, "processes one round may use: 1 = the bot's own; 0 = "
                                    "one per core (forked, for 5,000+ learners)", lo=0, hi=64,
                                    chat=False)
    video_link_template: str = setting(
        "https://meet.jit.si/peermatch-{session_uid}",
        "where sessions meet: a video link with {session_uid} (the default: a Jitsi room per "
        "session, no account needed); empty = no link", check=_video_link,
        accepts="empty, or an https:// address containing {session_uid}")
    voice_channel: bool = setting(True, "Discord: a private voice channel beside each match's "
                                  "space, with the same members, removed when the match ends")
    weights: MatchingWeights = field(default_factory=MatchingWeights)

    def with_overrides(self, overrides: Mapping[str, Any], *,
                       skip_invalid: bool = False) -> CommunitySettings:
        """These settings with a community's stored overrides applied, each parsed by its
        Spec (SettingError, or with ``skip_invalid`` the Spec's fallback or the default: a
        value stored before a bound existed must not lock a community out). Unknown keys
        are ignored."""
        clean: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in COMMUNITY:
                continue
            try:
                clean[key] = COMMUNITY.parse(key, raw)
            except SettingError:
                if not skip_invalid:
                    raise
                if (fallback := COMMUNITY.spec(key).fallback) is not None:
                    clean[key] = fallback
        return replace(self, **clean)

    def problem(self) -> str | None:
        """What is wrong across settings (each alone may be fine), or None."""
        if not self.group_min <= self.group_default <= self.group_max:
            return ("group sizes need group_min ≤ group_default ≤ group_max, not "
                    f"{self.group_min} ≤ {self.group_default} ≤ {self.group_max}")
        return None

    def family(self, topic: str) -> str:
        """The matching key of a topic: its family if configured, else the topic itself."""
        return self.topic_families.get(topic, topic).casefold()


@dataclass(frozen=True)
class DispatchSettings:
    """How the outbox is delivered."""

    max_attempts: int = setting(8, "a delivery is retried this many times (then kept as "
                                "failed)", lo=1, hi=100)
    base_backoff_seconds: float = setting(5.0, "exponential backoff: 5 s, 10 s, 20 s ... "
                                          "(Retry-After wins)", lo=0.1, hi=3600.0)
    max_backoff_seconds: float = setting(3600.0, "the longest wait between two attempts",
                                         lo=1.0, hi=86400.0)
    batch_size: int = setting(50, "messages claimed per dispatcher batch", lo=1, hi=1000)
    lease_seconds: float = setting(120.0, "a claimed message is not taken by another process "
                                   "for this long (renewed when its attempt starts)", lo=5.0,
                                   hi=3600.0)
    concurrency: int = setting(4, "deliveries to different targets (people, spaces) at once; "
                               "one target's always in order", lo=1, hi=64)
    call_timeout_seconds: float = setting(30.0, "one platform call may take this long, at "
                                          "most half the lease (then it counts as unclear "
                                          "and is reconciled)", lo=1.0, hi=1800.0)


COMMUNITY = Schema(CommunitySettings, "community")
MATCHING = Schema(MatchingWeights, "matching")
DISPATCH = Schema(DispatchSettings, "dispatch")


def parse(name: str, raw: object) -> Any:
    """One community setting's value from raw text/TOML/JSON (SettingError if refused)."""
    return COMMUNITY.parse(name, raw)
