"""Which use case answers which catalogue command. tests/core/test_catalogue.py checks that
every command has exactly one handler."""

from __future__ import annotations

from core.services import (
    admin,
    answers,
    community_config,
    deliveries,
    feedback,
    joining,
    lifecycle,
    office_hours,
    proposals,
    relay,
    reports,
    requeue,
    rounds,
    sessions,
    skipping,
)
from core.services.context import Handler

HANDLERS: dict[str, Handler] = {
    "peer join": joining.join,
    "peer rejoin": joining.rejoin,
    "peer profile": joining.profile,
    "peer status": lifecycle.status,
    "peer leave": lifecycle.leave,
    "peer unpair": lifecycle.unpair,
    "peer pause": lifecycle.pause,
    "peer resume": lifecycle.resume,
    "peer forget": lifecycle.forget,
    "peer help": lifecycle.help_,
    "peer schedule": proposals.schedule,
    "peer reschedule": proposals.reschedule,
    "peer accept": proposals.accept,
    "peer decline": proposals.decline,
    "peer cancel": sessions.cancel,
    "peer sessions": sessions.list_sessions,
    "peer met": answers.met,
    "peer skip": skipping.skip,
    "peer requeue": requeue.requeue,
    "peer feedback": feedback.feedback,
    "peer message": relay.message,
    "peer office-hours": office_hours.office_hours_command,
    "peeradmin queue": admin.queue,
    "peeradmin match-now": rounds.match_now,
    "peeradmin pair": admin.pair,
    "peeradmin end-match": admin.end_match,
    "peeradmin remove": admin.remove,
    "peeradmin ban": admin.ban,
    "peeradmin unban": admin.unban,
    "peeradmin export": reports.export,
    "peeradmin stats": reports.stats,
    "peeradmin config": community_config.config,
    "peeradmin deliveries": deliveries.deliveries,
}
