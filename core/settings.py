"""Typed settings the core works with: matching weights, per-community rules, reminders.

bot/config.py builds these from config.toml + environment; a community may override
its own part (``Community.settings``) through ``/peeradmin config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from core.model import Mode


@dataclass(frozen=True)
class MatchingWeights:
    """Soft-score weights. A match's score = base + sum(weight * term); documented in
    config.example.toml."""

    base: float = 10.0  # every match carries it: more people matched beats more overlap
    overlap_per_hour: float = 1.0  # per weekly hour in common (capped below)
    overlap_cap_hours: float = 10.0
    same_cohort: float = 3.0
    same_country: float = 2.0
    near_offset_per_hour: float = 0.5  # bonus 0.5 * (3 - |offset difference| hours), if > 0
    same_setup: float = 1.5
    rating: float = 1.0  # per star above 3 of the partner's average rating
    past_partner: float = -20.0  # matched together before (not unpaired)
    wait_per_week: float = 2.0  # ageing: long waiters are matched first
    wait_cap_weeks: float = 8.0
    support_kind: float = 3.0  # supporter offers what the learner needs
    group_size_fit: float = 1.0  # study groups: per member whose preferred size the group has


@dataclass(frozen=True)
class CommunitySettings:
    """Rules of one community. Defaults run without any config file."""

    topics: tuple[str, ...] = (
        "Python", "JavaScript", "Data Science", "Machine Learning", "Web Development",
        "Calculus", "Linear Algebra", "Statistics", "Spanish", "English",
    )
    topic_families: dict[str, str] = field(default_factory=dict)  # topic -> family
    cohorts: tuple[str, ...] = ()
    languages: tuple[str, ...] = (
        "English", "Spanish", "Portuguese", "French", "German", "Arabic", "Hindi", "Swahili",
    )
    support_kinds: tuple[str, ...] = (
        "Concepts", "Assignments", "Exam prep", "Motivation", "Career", "Code review",
    )
    modes: tuple[Mode, ...] = tuple(Mode)
    group_min: int = 3
    group_max: int = 5
    group_default: int = 4
    min_overlap_hours: float = 1.0  # hard: at least this much weekly overlap
    session_minutes: int = 60
    suggested_times: int = 3
    instant_match: bool = False
    schedule: str = "0 18 * * mon,thu"  # cron, in the community's time zone
    timezone: str = "UTC"
    moderator_roles: tuple[str, ...] = ()  # Discord role ids/names, Slack usergroup ids
    moderator_users: tuple[str, ...] = ()  # platform user ids
    space_mode: str = "auto"  # auto (discord: channel, slack: group_dm) | channel | thread | group_dm
    space_parent: str = ""  # Discord category id (channel) or channel id (thread)
    space_on_end: str = "archive"  # archive | delete
    monthly_sessions_per_learner: int = 12
    monthly_sessions_per_community: int = 0  # 0 = unlimited
    max_supporter_capacity: int = 5
    checkin_after_days: int = 3
    reminder_offsets_minutes: tuple[int, ...] = (24 * 60, 60)
    allow_outside_availability: bool = False
    commands_per_minute: int = 20
    # Processes one round may use: 1 = in the bot's process; 0 = one per core for queues of
    # 5,000+ learners (forked workers; measured 19 s -> 12 s at 100,000 on 2 cores).
    matching_workers: int = 1
    weights: MatchingWeights = field(default_factory=MatchingWeights)

    def with_overrides(self, overrides: dict[str, Any]) -> CommunitySettings:
        """These settings with a community's stored overrides applied (unknown keys ignored)."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known or key == "weights":
                continue
            current = getattr(self, key)
            if isinstance(current, tuple) and isinstance(value, list):
                value = tuple(Mode(v) for v in value) if key == "modes" else tuple(value)
            clean[key] = value
        return replace(self, **clean)

    def family(self, topic: str) -> str:
        """The matching key of a topic: its family if configured, else the topic itself."""
        return self.topic_families.get(topic, topic).casefold()


@dataclass(frozen=True)
class DispatchSettings:
    max_attempts: int = 8
    base_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 3600.0
    batch_size: int = 50
    lease_seconds: float = 120.0
