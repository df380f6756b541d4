"""Moderator use cases: queue, manual pair, end a match, remove, ban/unban.

Dispatch has already refused non-moderators (the rule lives in the core, whatever the
adapter). Every change is written to the audit log.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from core.availability import overlap_hours, stored_availability, week_start
from core.events import Banned, MatchMade
from core.matching.times import suggest_times
from core.model import (
    GHOST_PAUSE,
    AuditEntry,
    Learner,
    Match,
    MatchMember,
    Mode,
    Profile,
    QueueState,
)
from core.replies import Button, Reply, ts
from core.services import effects, ending
from core.services.common import find_learner, waited
from core.services.context import Ctx
from core.services.errors import Refusal
from core.services.ghosts import ghost_lines

QUEUE_SHOWN = 50  # entries listed by /peeradmin queue; the rest are counted


async def audit(ctx: Ctx, action: str, detail: str) -> None:
    assert ctx.community.id is not None
    await ctx.uow.audit.add(
        AuditEntry(ctx.community.id, ctx.actor.user_id, action, detail, ctx.now)
    )


async def queue(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """Who is waiting, filtered by mode and topic, with counts per mode and topic.

    Counts come from one grouped query and only the 50 shown are read, so the command
    costs the same few statements (and rows) with 100 or 100,000 waiting."""
    assert ctx.community.id is not None
    mode = Mode(args["mode"]) if args.get("mode") else None
    counts = await ctx.uow.queue.waiting_counts(ctx.community.id, mode)
    topic = str(args.get("topic", "")).casefold()
    if topic:
        counts = {key: n for key, n in counts.items() if topic in key[1].casefold()}
    ghosts = ghost_lines(await ctx.uow.learners.paused_for(ctx.community.id, GHOST_PAUSE),
                         ctx.now)
    total = sum(counts.values())
    if not total:
        return Reply(text="\n".join(["Nobody is waiting" + (
            " with those filters." if mode or topic else ".")] + ghosts))
    by_label = Counter({(m.label, t): n for (m, t), n in counts.items()})
    lines = [f"**{total} waiting.** " + ", ".join(
        f"{m} / {t}: {n}" for (m, t), n in sorted(by_label.items()))]
    topics = {t for _, t in counts} if topic else None
    entries = await ctx.uow.queue.waiting_first(ctx.community.id, mode, topics, QUEUE_SHOWN)
    ids = [e.learner_id for e in entries]
    shown = await ctx.uow.learners.get_many(ids)
    profiles = await ctx.uow.profiles.for_learners(ids)
    for i, e in enumerate(entries, 1):
        learner = shown.get(e.learner_id)
        p = profiles.get(e.learner_id)
        name = learner.display_name if learner else "?"
        why = f": {e.unmatched_reason}" if e.unmatched_reason else ""
        about = f"{p.topic}, {', '.join(p.languages)}" if p else "no profile"
        lines.append(
            f"{i}. {name} ({learner.platform_user_id if learner else ''}): {e.mode.value}, "
            f"{about}, waiting {waited(e.joined_at, ctx.now)}{why}"
        )
    if total > QUEUE_SHOWN:
        lines.append(f"... and {total - QUEUE_SHOWN} more (use `/peeradmin export learners`).")
    return Reply(text="\n".join(lines + ghosts))


async def pair(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """Pair two learners by hand. Blocked pairs and banned learners are refused."""
    assert ctx.community.id is not None
    if not await ctx.uow.lock_community(ctx.community.id):
        # A round is storing matches right now: pairing by hand could put the same people in
        # two matches. The round lock makes the two take turns.
        raise Refusal("A matching round is running for this community; try again in a minute.")
    a = await find_learner(ctx.uow, ctx.community.id, str(args["user_a"]))
    b = await find_learner(ctx.uow, ctx.community.id, str(args["user_b"]))
    await _refuse_unpairable(ctx, a, b)
    profiles = await ctx.uow.profiles.for_learners([a.id or 0, b.id or 0])
    for person in (a, b):
        assert person.id is not None
        active = await ctx.uow.matches.active_for(person.id)
        prof = profiles.get(person.id)
        if active and not (prof and prof.mode is Mode.OFFER_SUPPORT):
            raise Refusal(
                f"{person.display_name} is already in match #{active[0].id}; end it first."
            )
    warnings = await _pair_warnings(ctx, (a, b), profiles)
    if warnings and not args.get("confirm"):
        # Nothing is written: the moderator reads what is odd and confirms with one click.
        lines = [f"Before I pair {a.display_name} and {b.display_name}, please check:"]
        lines += [f"• {w}" for w in warnings]
        lines.append("Pair them anyway? Run the command again with `confirm:yes`.")
        again = {"user_a": a.platform_user_id, "user_b": b.platform_user_id, "confirm": "yes"}
        return Reply(text="\n".join(lines), ok=False,
                     buttons=(Button("Pair anyway", "peeradmin pair", again, style="danger"),))
    kind, roles = _kind_and_roles(profiles.get(a.id or 0), profiles.get(b.id or 0))
    reasons, times = ["paired by a moderator"], []
    if len(profiles) == 2:
        members = [(stored_availability(p.availability), p.timezone) for p in profiles.values()]
        hours = overlap_hours(members, week_start(ctx.now))
        reasons.append(f"{hours:.0f} h a week in common")
        times = suggest_times(members, ctx.settings, ctx.now)
    if kind.is_support and (offered := await _offer_instead(
            ctx, kind, dict(zip(roles, (a, b), strict=True)), profiles, reasons, times)):
        return offered  # the supporter accepts first
    match = await ctx.uow.matches.add(
        Match(
            ctx.community.id,
            kind,
            [MatchMember(a.id or 0, roles[0]), MatchMember(b.id or 0, roles[1])],
            reasons,
            ctx.now,
            times,
        )
    )
    for person in (a, b):
        entry = await ctx.uow.queue.open_for(person.id or 0)
        if (
            entry is not None
            and profiles.get(person.id or 0, None)
            and entry.mode is not Mode.OFFER_SUPPORT
        ):
            entry.state = QueueState.MATCHED
            await ctx.uow.queue.update(entry)
    await effects.publish(ctx.uow, ctx.settings, MatchMade(match, ctx.now))
    await audit(ctx, "pair", f"match {match.id}: {a.platform_user_id} + {b.platform_user_id}")
    return Reply(text=f"Paired {a.display_name} and {b.display_name} (match #{match.id}). "
                      "Both will get a DM and a private space.")


async def _refuse_unpairable(ctx: Ctx, a: Learner, b: Learner) -> None:
    """The same person twice, a banned learner or a blocked pair: refused, nothing written."""
    assert ctx.community.id is not None
    if a.id == b.id:
        raise Refusal("Those are the same person.")
    for person in (a, b):
        if person.banned:
            raise Refusal(f"{person.display_name} is banned; unban them first.")
    if frozenset((a.id, b.id)) in await ctx.uow.blocks.pairs(ctx.community.id):
        raise Refusal(f"{a.display_name} and {b.display_name} unpaired before (or were blocked): "
                      "PeerMatch never matches them again.")


async def _offer_instead(ctx: Ctx, kind: Mode, people: dict[str, Learner],
                         profiles: dict[int, Profile], reasons: list[str],
                         times: list[tuple[datetime, datetime]]) -> Reply | None:
    """A supporter paired by hand with a waiting learner says yes first, as after a round
    (core/services/support_offers.py; imported here because it reads verification, which
    uses this module's ``audit``). None: no waiting request, so the pair is made at once."""
    from core.services.support_offers import offer_by_hand

    offered = await offer_by_hand(ctx, kind, people, profiles, reasons, times)
    if offered is None:
        return None
    await audit(ctx, "pair", f"offer {offered.id}: " + " + ".join(
        p.platform_user_id for p in people.values()))
    return Reply(text=f"Offered the pair to the supporter (offer #{offered.id}): the match and "
                      f"its space are made when they accept, within "
                      f"{ctx.settings.support_offer_hours} h; otherwise the next best "
                      "supporter is asked.")


async def _pair_warnings(ctx: Ctx, people: tuple[Learner, Learner],
                         profiles: dict[int, Profile]) -> list[str]:
    """What a moderator should know before pairing by hand (a block is refused, not warned)."""
    warnings: list[str] = []
    for person in people:
        assert person.id is not None
        if (until := person.pause_end(ctx.now)) is not None:
            warnings.append(f"{person.display_name} paused matching until {ts(until)}.")
        if await ctx.uow.queue.open_for(person.id) is None:
            warnings.append(f"{person.display_name} is not waiting in the queue.")
        if person.id not in profiles:
            warnings.append(f"{person.display_name} has no profile (never joined).")
    pa, pb = (profiles.get(p.id or 0) for p in people)
    if pa is not None and pb is not None:
        a, b = people
        if pa.mode_class != pb.mode_class:
            warnings.append(f"They asked for different things: {a.display_name} "
                            f"{pa.mode.label.lower()}, {b.display_name} {pb.mode.label.lower()}.")
        if ctx.settings.family(pa.topic) != ctx.settings.family(pb.topic):
            warnings.append(f"Different topics: {pa.topic} and {pb.topic}.")
    return warnings


def _kind_and_roles(pa: Profile | None, pb: Profile | None) -> tuple[Mode, tuple[str, str]]:
    """What a hand-made pair is: support when one of them offers support, else their mode."""
    ma, mb = (pa.mode if pa else None), (pb.mode if pb else None)
    if Mode.OFFER_SUPPORT in (ma, mb):
        roles = (
            ("supporter", "supported") if ma is Mode.OFFER_SUPPORT else ("supported", "supporter")
        )
        return Mode.NEED_SUPPORT, roles
    mode = ma or mb or Mode.STUDY_BUDDY
    return (Mode.STUDY_BUDDY if mode is Mode.NEED_SUPPORT else mode), ("peer", "peer")


async def end_match(ctx: Ctx, args: dict[str, Any]) -> Reply:
    match = await ctx.uow.matches.get(int(args["match"]))
    if match is None or match.community_id != ctx.community.id:
        raise Refusal(f"There is no match #{args['match']} in this community.")
    if not match.is_active:
        raise Refusal(f"Match #{match.id} has already ended ({match.ended_reason}).")
    reason = str(args["reason"])
    await ending.close(ctx.uow, ctx.settings, match, f"ended by a moderator: {reason}", ctx.now,
                       by_moderator=True)  # MatchEnded's effects tell each member
    await audit(ctx, "end-match", f"match {match.id}: {reason}")
    return Reply(text=f"Match #{match.id} has ended; its members were told.")


async def remove(ctx: Ctx, args: dict[str, Any]) -> Reply:
    assert ctx.community.id is not None
    learner = await find_learner(ctx.uow, ctx.community.id, str(args["user"]))
    entry = await ctx.uow.queue.open_for(learner.id or 0)
    if entry is None:
        raise Refusal(f"{learner.display_name} isn't in the queue.")
    entry.state = QueueState.REMOVED
    await ctx.uow.queue.update(entry)
    await audit(ctx, "remove", f"{learner.platform_user_id}: {args['reason']}")
    return Reply(text=f"Removed {learner.display_name} from the queue.")


async def _set_ban(ctx: Ctx, learner: Learner, banned: bool, reason: str) -> None:
    learner.banned, learner.ban_reason = banned, reason
    await ctx.uow.learners.update(learner)


async def ban(ctx: Ctx, args: dict[str, Any]) -> Reply:
    assert ctx.community.id is not None
    learner = await find_learner(ctx.uow, ctx.community.id, str(args["user"]))
    if learner.id == ctx.learner.id:
        raise Refusal("You can't ban yourself.")
    reason = str(args["reason"])
    await _set_ban(ctx, learner, True, reason)
    entry = await ctx.uow.queue.open_for(learner.id or 0)
    if entry is not None:
        entry.state = QueueState.REMOVED
        await ctx.uow.queue.update(entry)
    for match in await ctx.uow.matches.active_for(learner.id or 0):
        await ending.leave_match(ctx.uow, ctx.settings, match, learner, "banned", ctx.now,
                                 tell=f"Match #{match.id} has ended.")
    await effects.publish(ctx.uow, ctx.settings, Banned(learner, ctx.now))
    await audit(ctx, "ban", f"{learner.platform_user_id}: {reason}")
    return Reply(text=f"Banned {learner.display_name}. Their queue entry and matches have ended.")


async def unban(ctx: Ctx, args: dict[str, Any]) -> Reply:
    assert ctx.community.id is not None
    learner = await find_learner(ctx.uow, ctx.community.id, str(args["user"]))
    if not learner.banned:
        raise Refusal(f"{learner.display_name} isn't banned.")
    await _set_ban(ctx, learner, False, "")
    await audit(ctx, "unban", learner.platform_user_id)
    return Reply(text=f"{learner.display_name} can use PeerMatch again.")
