"""Joining the queue: join (with the mode's form), rejoin with the saved profile, profile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core import catalogue
from core.accepted import FOLLOW_UP, instant_match_work
from core.availability import AvailabilityError, describe, parse_availability
from core.model import Mode, Profile, QueueEntry, Setup
from core.replies import Button, FormRequest, Reply, ts
from core.services.common import next_round_line, queue_position, waited
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.feedback import rating_of
from core.text import with_article
from core.timezones import timezone_note

_PROFILE_FIELDS = (
    "topic",
    "languages",
    "timezone",
    "availability",
    "cohort",
    "country",
    "setup",
    "goal",
    "contact",
    "group_size",
    "support_kind",
    "capacity",
    "anonymous",
    "rotate_partners",
    "styles",
)


def profile_values(profile: Profile | None, ctx: Ctx) -> dict[str, str]:
    """A saved profile as the raw strings a form is pre-filled with."""
    values: dict[str, str] = {}
    if profile is not None:
        for key, value in asdict(profile).items():
            if key not in _PROFILE_FIELDS or value in ("", None, 0):
                continue
            if isinstance(value, tuple | list):
                values[key] = ", ".join(value)
            elif isinstance(value, bool):
                values[key] = "yes" if value else "no"
            else:
                values[key] = str(value)
    if "timezone" not in values and ctx.actor.timezone:
        values["timezone"] = ctx.actor.timezone  # e.g. Slack's users.info tz
    return values


def _has_form_fields(args: dict[str, Any]) -> bool:
    return any(k in args for k in ("topic", "availability", "languages", "timezone"))


def build_profile(ctx: Ctx, mode: Mode, args: dict[str, Any]) -> Profile:
    """Validate the mode's form; raise Refusal with per-field errors if anything is wrong."""
    form = catalogue.join_form(mode)
    raw = {k: str(v) for k, v in args.items() if v is not None}
    values, errors = catalogue.validate(form.fields, raw, ctx.settings)
    if "capacity" in values and values["capacity"] > ctx.settings.max_supporter_capacity:
        errors["capacity"] = (f"{catalogue.CAPACITY.label}: at most "
                              f"{ctx.settings.max_supporter_capacity} in this community.")
    size = values.get("group_size")
    if size is not None and not ctx.settings.group_min <= size <= ctx.settings.group_max:
        errors["group_size"] = (f"{catalogue.GROUP_SIZE.label}: between {ctx.settings.group_min} "
                                f"and {ctx.settings.group_max} here.")
    if errors:
        raise Refusal("Please fix: " + " ".join(errors.values()), errors)
    assert ctx.learner.id is not None
    return Profile(
        learner_id=ctx.learner.id, mode=mode, topic=values["topic"],
        languages=tuple(values["languages"]), timezone=values["timezone"],
        availability=values["availability"], cohort=values.get("cohort", ""),
        country=values.get("country", ""), setup=Setup(values.get("setup", Setup.ANY.value)),
        support_kind=values.get("support_kind", ""), goal=values.get("goal", ""),
        group_size=values.get("group_size", 0), capacity=values.get("capacity", 1),
        anonymous=values.get("anonymous", False), contact=values.get("contact", ""),
        updated_at=ctx.now, rotate_partners=values.get("rotate_partners", False),
        styles=tuple(values.get("styles", ())),
    )


def may_join_while_matched(mode: Mode) -> bool:
    """Supporters may take more learners while matched; everyone else unpairs first."""
    return mode is Mode.OFFER_SUPPORT


async def _refuse_if_busy(ctx: Ctx, mode: Mode) -> None:
    """One pending request per learner; matched learners unpair first (supporters excepted)."""
    assert ctx.learner.id is not None
    if (until := ctx.learner.pause_end(ctx.now)) is not None:
        raise Refusal(f"You paused matching until {ts(until)}. "
                      "Use `/peer resume` first if you'd like to join now.")
    offer = await ctx.uow.offers.open_for_learner(ctx.learner.id)
    if offer is not None:  # a supporter is considering their request: one at a time
        raise Refusal(
            "A supporter is considering your support request right now; I'll tell you as "
            f"soon as they answer (by {ts(offer.expires_at)} at the latest). One request at "
            "a time, so nothing new for now: `/peer status` shows where you are.",
            code="offer_pending")
    entry = await ctx.uow.queue.open_for(ctx.learner.id)
    if entry is not None:
        pos, total = await queue_position(ctx.uow, entry)
        raise Refusal(
            f"You're already in the queue for **{entry.mode.label}** "
            f"(waiting {waited(entry.joined_at, ctx.now)}, {pos} of {total}). "
            "`/peer status` shows why you're still waiting; `/peer leave` leaves the queue.",
            code="already_queued",
        )
    active = await ctx.uow.matches.active_for(ctx.learner.id)
    if active and not may_join_while_matched(mode):
        raise Refusal(
            f"You're already matched (match #{active[0].id}). Use `/peer status` to see it, "
            "or `/peer unpair <reason>` if you'd like a new partner.",
            code="already_matched",
        )


def understood(profile: Profile) -> str:
    """How the saved availability was read, in the learner's zone, so a misreading shows
    at once ("I read your availability as Mon-Fri 09:00-17:00 Europe/London, 40 h a week.");
    a fixed UTC offset adds why a real zone is better."""
    try:
        reading = describe(parse_availability(profile.availability), profile.timezone)
    except AvailabilityError as exc:
        raise Refusal(f"Your saved availability needs fixing: {exc} "
                      "Use `/peer profile edit` to change it.") from None
    note = timezone_note(profile.timezone)
    return f"I read your availability as {reading}." + (f" {note}" if note else "")


async def enqueue(ctx: Ctx, profile: Profile) -> Reply:
    """Save the profile and put the learner in the queue; the confirmation says what's next."""
    if profile.mode not in ctx.settings.modes:
        raise Refusal(f"**{profile.mode.label}** isn't offered in this community.")
    await _refuse_if_busy(ctx, profile.mode)
    reading = understood(profile)  # refuses an old profile whose text no longer reads
    assert ctx.community.id is not None
    await ctx.uow.profiles.save(profile)
    entry = await ctx.uow.queue.add(QueueEntry(profile.learner_id, ctx.community.id,
                                               profile.mode, ctx.now))
    follow_up: dict[str, Any] = {}
    if ctx.settings.instant_match:
        # Looking for a partner who already waits plans the newcomer's whole block: that
        # runs after the reply, from the store (core/accepted.py), never before the ack; a
        # match found is announced by DM like any other.
        await ctx.uow.accepted.add(instant_match_work(
            ctx.community.platform, ctx.community.external_id, ctx.community.id,
            profile.learner_id, ctx.now))
        follow_up = {FOLLOW_UP: True}
    pos, total = await queue_position(ctx.uow, entry)
    anon = (
        "\nYou'll stay anonymous: your supporter sees only an alias." if profile.anonymous else ""
    )
    return Reply(
        text=(
            f"You're in the queue for **{profile.mode.label}** on **{profile.topic}** "
            f"({pos} of {total} waiting for {with_article(profile.mode.label.lower())}, in "
            f"order of joining). I'll DM you when you're matched.{anon}\n"
            f"{next_round_line(ctx.settings, ctx.now)}\n{reading}\n"
            "`/peer status` any time; `/peer leave` to leave."
        ),
        buttons=(
            Button("Status", "peer status"),
            Button("Leave queue", "peer leave", style="danger"),
        ),
        data=follow_up,
    )


async def join(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer join mode`: open the mode's form (pre-filled); on submit, queue the learner."""
    mode = Mode(args["mode"])
    if mode not in ctx.settings.modes:
        raise Refusal(f"**{mode.label}** isn't offered in this community.")
    if not _has_form_fields(args):
        await _refuse_if_busy(ctx, mode)  # say so before anyone fills a form for nothing
        assert ctx.learner.id is not None
        saved = await ctx.uow.profiles.get(ctx.learner.id)
        return Reply(text=f"Tell me a little about what you're looking for ({mode.label}).",
                     form=FormRequest(f"join-{mode.value}", profile_values(saved, ctx),
                                      submit_command="peer join", context={"mode": mode.value}))
    return await enqueue(ctx, build_profile(ctx, mode, args))


async def rejoin(ctx: Ctx, _args: dict[str, Any]) -> Reply:
    """`/peer rejoin`: queue again with the saved profile, one click."""
    assert ctx.learner.id is not None
    saved = await ctx.uow.profiles.get(ctx.learner.id)
    if saved is None:
        raise Refusal("I don't have a saved profile for you yet: use `/peer join` to start.")
    saved.updated_at = ctx.now
    return await enqueue(ctx, saved)


def describe_profile(p: Profile) -> str:
    """A profile in a few lines, for the learner themself."""
    lines = [f"**Mode:** {p.mode.label}", f"**Topic:** {p.topic}",
             f"**Languages:** {', '.join(p.languages)}", f"**Time zone:** {p.timezone}",
             f"**Availability:** {p.availability}"]
    optional = {
        "Cohort": p.cohort,
        "Country": p.country,
        "Setup": p.setup.value if p.setup is not Setup.ANY else "",
        "Support": p.support_kind,
        "Styles": ", ".join(p.styles),
        "Goal": p.goal,
        "Contact": p.contact,
    }
    lines += [f"**{k}:** {v}" for k, v in optional.items() if v]
    if p.mode is Mode.OFFER_SUPPORT:
        lines.append(f"**Capacity:** {p.capacity}")
    if p.mode is Mode.STUDY_GROUP and p.group_size:
        lines.append(f"**Group size:** {p.group_size}")
    if p.anonymous:
        lines.append("**Anonymous:** yes")
    if p.rotate_partners:
        lines.append("**Partners:** new ones every few weeks (`rematch_every_weeks`)")
    return "\n".join(lines)


async def profile(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer profile [view|edit]`: show the saved profile, or edit it through the form."""
    assert ctx.learner.id is not None
    saved = await ctx.uow.profiles.get(ctx.learner.id)
    if saved is None:
        raise Refusal("You have no saved profile yet: `/peer join` creates one.")
    if args.get("action") != "edit":
        rating = await rating_of(ctx.uow, ctx.learner.id)
        rated = f"\n**Average rating from your partners:** {rating:.1f} / 5" if rating else ""
        return Reply(text="Your profile:\n" + describe_profile(saved) + rated,
                     buttons=(Button("Edit", "peer profile", {"action": "edit"}),
                              Button("Rejoin", "peer rejoin", style="primary")))
    if not _has_form_fields(args):
        return Reply(text="Edit your profile.",
                     form=FormRequest(catalogue.profile_form(saved.mode).name,
                                      profile_values(saved, ctx),
                                      submit_command="peer profile",
                                      context={"action": "edit"}))
    # An edit changes what it names; every other field keeps its saved value (typing
    # `profile edit availability:"Mon 10-12"` must not ask again for the topic).
    updated = build_profile(ctx, saved.mode, {**profile_values(saved, ctx), **args})
    await ctx.uow.profiles.save(updated)
    return Reply(text=f"Saved. Your profile:\n{describe_profile(updated)}\n{understood(updated)}")
