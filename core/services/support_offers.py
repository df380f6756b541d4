"""Supporters accept or decline (issue 15.1): a support match a round plans (scheduled,
`/peeradmin match-now` or an instant match on join) is first offered to the supporter.

- ``offer_planned`` (from ``round_store``): instead of the match, an OPEN ``SupportOffer``
  with the plan's reasons, times and score; the learner's queue entry stays claimed, so no
  round matches them again and `/peer join` refuses a second request meanwhile. The
  supporter is asked by DM (Accept / Decline), the learner told.
- ``accept``: the match is made then (``MatchMade``: intros, the space), under the
  community lock and only while the supporter has a free seat: capacity counts accepted
  matches only.
- ``decline``, and ``expire_due`` (the planner, after ``support_offer_hours``): the next
  best supporter is asked (``hand_on``), found by the round's own engine on the learner's
  block without everyone who already said no; when nobody is left the learner waits again,
  place kept, and is told so. Those who said no stay out of later rounds for this request
  (``declined_pairs``, read where a round loads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from core.events import MatchMade, SupportOfferAnswered, SupportOffered
from core.matching.types import MatchPlan
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    Mode,
    OfferState,
    Profile,
    QueueEntry,
    QueueState,
    SupportOffer,
    Verification,
)
from core.ports import StorageConflict, UnitOfWork
from core.replies import Button, Reply, mention, ts
from core.services import effects, verification
from core.services.context import Ctx, Services
from core.services.errors import Refusal
from core.services.round_solve import solve
from core.services.seats import close_full_supporters
from core.services.support_offer_messages import held_entry, move_held_entry
from core.settings import CommunitySettings

SUPPORTED, SUPPORTER = "supported", "supporter"
NOBODY = "no other supporter is free for this request right now (the ones asked said no)"


def _roles(members: list[tuple[int, str]]) -> tuple[int, int]:
    """(learner, supporter) of a planned support match."""
    roles = {role: lid for lid, role in members}
    return roles[SUPPORTED], roles[SUPPORTER]


def _offer_of(settings: CommunitySettings, mp: MatchPlan, entry: QueueEntry, now: datetime,
              round_id: int | None, excluded: tuple[int, ...]) -> SupportOffer:
    """The plan as an OPEN ask to its supporter, answerable for ``support_offer_hours``."""
    learner_id, supporter_id = _roles(mp.members)
    assert entry.id is not None
    return SupportOffer(entry.community_id, learner_id, supporter_id, entry.id, mp.kind,
                        list(mp.reasons), [t for t in mp.times if t[0] > now], mp.score, now,
                        now + timedelta(hours=settings.support_offer_hours),
                        excluded=excluded, round_id=round_id)


async def _announce(uow: UnitOfWork, settings: CommunitySettings, offer: SupportOffer,
                    learners: dict[int, Learner], profiles: dict[int, Profile], now: datetime,
                    verified: dict[int, Verification], again: bool) -> None:
    """Ask the supporter and tell the learner (``SupportOffered``)."""
    mark = verification.badge(verified, offer.supporter_id, profiles[offer.learner_id].topic)
    await effects.publish(uow, settings, SupportOffered(
        offer, learners[offer.learner_id], learners[offer.supporter_id],
        profiles[offer.learner_id], mark, now, again=again))


async def offer_planned(uow: UnitOfWork, settings: CommunitySettings, mp: MatchPlan,
                        entry: QueueEntry, learners: dict[int, Learner],
                        profiles: dict[int, Profile], now: datetime, *,
                        round_id: int | None = None, excluded: tuple[int, ...] = (),
                        again: bool = False,
                        verified: dict[int, Verification] | None = None) -> SupportOffer | None:
    """Store the plan as an offer to its supporter and ask them (the entry is already
    claimed); None when the learner has an open offer already (the database says so).
    ``verified``: the community's verified supporters, when the caller has read them."""
    try:
        offer = await uow.offers.add(_offer_of(settings, mp, entry, now, round_id, excluded))
    except StorageConflict:
        return None
    if verified is None:
        verified = await verification.verified_in(uow, entry.community_id)
    await _announce(uow, settings, offer, learners, profiles, now, verified, again)
    return offer


async def offer_round(uow: UnitOfWork, settings: CommunitySettings,
                      plans: list[tuple[MatchPlan, QueueEntry]], learners: dict[int, Learner],
                      profiles: dict[int, Profile], now: datetime,
                      round_id: int | None) -> list[QueueEntry]:
    """A round's support plans as asks, stored in bulk (a few statements, whatever their
    number) and announced; returns the entries whose ask the database refused (the learner
    has an open one already), for the caller to put back in the queue."""
    if not plans:
        return []
    community_id = plans[0][1].community_id
    made = [_offer_of(settings, mp, entry, now, round_id, ()) for mp, entry in plans]
    stored = await uow.offers.add_many(made)
    verified = await verification.verified_in(uow, community_id)  # once for every ask
    for offer in stored:
        await _announce(uow, settings, offer, learners, profiles, now, verified, False)
    asked = {o.learner_id for o in stored}
    return [entry for mp, entry in plans if _roles(mp.members)[0] not in asked]


async def offer_by_hand(ctx: Ctx, kind: Mode, people: dict[str, Learner],
                        profiles: dict[int, Profile], reasons: list[str],
                        times: list[tuple[datetime, datetime]]) -> SupportOffer | None:
    """`/peeradmin pair` of a supporter and a waiting need-support learner: offered like a
    round's match. None when the learner has no waiting request (then the pair is made at
    once, as before: nothing to hand on)."""
    learner, supporter = people[SUPPORTED], people[SUPPORTER]
    assert learner.id is not None and supporter.id is not None
    entry = await ctx.uow.queue.open_for(learner.id)
    if (entry is None or entry.mode is not Mode.NEED_SUPPORT
            or not await ctx.uow.queue.claim_waiting([learner.id])):
        return None
    plan = MatchPlan(kind, [(supporter.id, SUPPORTER), (learner.id, SUPPORTED)], 0.0,
                     reasons, times)
    return await offer_planned(ctx.uow, ctx.settings, plan, entry,
                               {learner.id: learner, supporter.id: supporter}, profiles,
                               ctx.now)


async def declined_pairs(uow: UnitOfWork, community_id: int,
                         waiting: Sequence[QueueEntry]) -> set[frozenset[int]]:
    """(learner, supporter) pairs whose ask of the learner's current request (among the
    community's ``waiting`` entries) was declined or expired: a later round does not ask
    them again (one query, whatever the queue)."""
    held = {OfferState.DECLINED, OfferState.EXPIRED}
    current = {e.id for e in waiting}
    return {frozenset((o.learner_id, s)) for o in await uow.offers.list(community_id)
            if o.state in held and o.entry_id in current for s in (*o.excluded, o.supporter_id)}


async def _mine(ctx: Ctx, offer_id: int) -> tuple[SupportOffer, Learner]:
    """An open offer made to the caller, and its learner; else a polite refusal."""
    offer = await ctx.uow.offers.get(offer_id)
    learner = await ctx.uow.learners.get(offer.learner_id) if offer else None
    if offer is None or learner is None or offer.supporter_id != ctx.learner.id:
        raise Refusal(f"You have no support offer number {offer_id}. `/peer supporting` "
                      "lists the learners you support and the offers waiting for you.")
    if not offer.is_open:
        raise Refusal(f"Offer #{offer_id} is {offer.state.value} already: nothing to do.")
    if learner.banned:
        raise Refusal(f"The learner of offer #{offer_id} can no longer use PeerMatch here, so "
                      "there is nothing to answer.")
    if offer.expires_at <= ctx.now:
        raise Refusal(f"Offer #{offer_id} ran out at {ts(offer.expires_at)}, so I am asking "
                      "another supporter for this learner. Thanks all the same!")
    return offer, learner


def _alias(offer: SupportOffer) -> str:
    return f"Anonymous learner #S{offer.id}"


async def accept(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer support-accept <offer>`: take the learner; the match and its space are made."""
    # Under the lock: one answer at a time (seats; a decline or expiry running meanwhile).
    await ctx.uow.lock_community(ctx.community.id or 0, wait=True)
    offer, learner = await _mine(ctx, int(args["offer"]))
    supporter = ctx.learner
    assert supporter.id is not None and learner.id is not None
    profiles = await ctx.uow.profiles.for_learners([supporter.id, learner.id])
    seats = profiles[supporter.id].capacity if supporter.id in profiles else 1
    busy = [m for m in await ctx.uow.matches.active_for(supporter.id) if m.is_support]
    if len(busy) >= seats:
        raise Refusal(f"You already support {len(busy)} learner(s), your capacity ({seats}). "
                      "Decline this offer so they get another supporter, or raise your "
                      "capacity with `/peer profile edit` first.")
    anonymous = learner.id in profiles and profiles[learner.id].anonymous
    mark = verification.badge(await verification.verified_in(ctx.uow, offer.community_id),
                              supporter.id, profiles[learner.id].topic
                              if learner.id in profiles else "")
    reasons = ([f"{mention(supporter.platform_user_id)} is a {mark} supporter"] if mark
               else []) + offer.reasons
    try:
        match = await ctx.uow.matches.add(Match(
            offer.community_id, offer.kind,
            [MatchMember(supporter.id, SUPPORTER),
             MatchMember(learner.id, SUPPORTED, _alias(offer) if anonymous else "")],
            reasons, ctx.now, [t for t in offer.times if t[0] > ctx.now], offer.round_id,
            offer.score))
    except StorageConflict:
        raise Refusal("This learner is already in a support match, so the offer is no "
                      "longer needed.") from None
    offer.state, offer.match_id = OfferState.ACCEPTED, match.id
    await ctx.uow.offers.update(offer)
    await effects.publish(ctx.uow, ctx.settings,
                          SupportOfferAnswered(offer, learner, supporter, ctx.now))
    await effects.publish(ctx.uow, ctx.settings, MatchMade(match, ctx.now))
    await close_full_supporters(ctx.uow, [supporter.id], profiles)
    who = "an anonymous learner" if anonymous else mention(learner.platform_user_id)
    return Reply(text=f"✅ Thanks! You now support {who} (match #{match.id}). Your intro "
                      "is on its way by DM" + ("" if anonymous else ", with a private space")
                      + ".", buttons=(Button("Schedule", "peer schedule",
                                             {"match": str(match.id)}, style="primary"),))


async def decline(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """`/peer support-decline <offer>`: pass; the next best supporter is asked at once."""
    await ctx.uow.lock_community(ctx.community.id or 0, wait=True)
    offer, learner = await _mine(ctx, int(args["offer"]))
    offer.state = OfferState.DECLINED
    await ctx.uow.offers.update(offer)
    await hand_on(ctx.uow, ctx.services, ctx.community, ctx.settings, offer, learner,
                  ctx.learner, ctx.now)
    return Reply(text=f"Thanks for saying so: offer #{offer.id} is declined and I'm asking "
                      "another supporter. You stay in the supporters' queue.")


async def hand_on(uow: UnitOfWork, services: Services, community: Community,
                  settings: CommunitySettings, offer: SupportOffer, learner: Learner,
                  supporter: Learner, now: datetime) -> SupportOffer | None:
    """After a no (``offer`` stored DECLINED or EXPIRED): ask the next best supporter, or
    put the learner's entry back in the queue (place kept) and tell them. Call it in a
    writing unit holding the community lock. Returns the new offer, if any."""
    entry = await held_entry(uow, offer)
    if entry is None or entry.state is not QueueState.MATCHED:
        # left, removed or forgotten meanwhile: nothing to hand on
        await effects.publish(uow, settings, SupportOfferAnswered(offer, learner, supporter,
                                                                  now, handed_on=True))
        return None
    entry.state = QueueState.WAITING  # back in the queue; claimed again if someone is found
    await uow.queue.update(entry)
    excluded = (*offer.excluded, offer.supporter_id)
    plan, data = await _next_best(uow, services, community, settings, offer.learner_id,
                                  set(excluded), now)
    if plan is not None and await uow.queue.claim_waiting([offer.learner_id]):
        await effects.publish(uow, settings, SupportOfferAnswered(offer, learner, supporter,
                                                                  now, handed_on=True))
        return await offer_planned(uow, settings, plan, replace(entry), data[0], data[1], now,
                                   round_id=offer.round_id, excluded=excluded, again=True)
    await uow.queue.note_unmatched({offer.learner_id: NOBODY})
    await effects.publish(uow, settings, SupportOfferAnswered(offer, learner, supporter, now))
    return None


async def _next_best(uow: UnitOfWork, services: Services, community: Community,
                     settings: CommunitySettings, learner_id: int, excluded: set[int],
                     now: datetime) -> tuple[MatchPlan | None,
                                             tuple[dict[int, Learner], dict[int, Profile]]]:
    """The engine on the learner's block (same mode class and topic family, as an instant
    match plans it), without the supporters in ``excluded``: the best one the round's own
    score picks. A handful of candidates, so it runs in the caller's unit of work."""
    from core.services.round_load import load  # a round loads offers too: import late

    data = await load(uow, community, settings, now)
    me = next((c for c in data.candidates if c.learner_id == learner_id), None)
    if me is None or me.mode is not Mode.NEED_SUPPORT:
        return None, (data.learners, data.profiles)
    block = [c for c in data.candidates if c.learner_id == learner_id or (
        c.mode is Mode.OFFER_SUPPORT and c.topic_key == me.topic_key
        and c.learner_id not in excluded)]
    blocked = data.blocked | {frozenset((learner_id, s)) for s in excluded}
    plan = await solve(services, block, settings, now, int(now.timestamp()), blocked,
                       data.past)
    mine = [mp for mp in plan.matches if any(lid == learner_id for lid, _ in mp.members)]
    return (mine[0] if mine else None), (data.learners, data.profiles)


async def expire_due(services: Services, community: Community, settings: CommunitySettings,
                     now: datetime) -> int:
    """The planner's part: every open offer whose window has closed is EXPIRED and handed
    on, each in its own short unit under the community lock (re-read there, so two
    processes never hand one on twice). Returns how many expired."""
    assert community.id is not None
    async with services.uow_factory(writes=False) as uow:
        due = [o.id for o in await uow.offers.expired(community.id, now)]
    done = 0
    for offer_id in due:
        async with services.uow_factory() as uow:
            await uow.lock_community(community.id, wait=True)
            offer = await uow.offers.get(offer_id or 0)
            if offer is None or not offer.is_open or offer.expires_at > now:
                continue
            learner = await uow.learners.get(offer.learner_id)
            supporter = await uow.learners.get(offer.supporter_id)
            if learner is None or supporter is None:
                continue
            offer.state = OfferState.EXPIRED
            await uow.offers.update(offer)
            await hand_on(uow, services, community, settings, offer, learner, supporter, now)
            await uow.commit()
            done += 1
    return done


async def offer_lines(uow: UnitOfWork, learner_id: int) -> list[str]:
    """`/peer status` of a learner whose request a supporter is considering."""
    offer = await uow.offers.open_for_learner(learner_id)
    if offer is None:
        return []
    return [f"🔎 A supporter is considering your support request (asked {ts(offer.created_at)}"
            f"); they have until {ts(offer.expires_at)}, then I ask another. `/peer leave` "
            "withdraws the request."]


async def withdraw(uow: UnitOfWork, settings: CommunitySettings, learner: Learner,
                   now: datetime) -> bool:
    """`/peer leave` while a supporter is asked: the ask is withdrawn (its DM dropped if not
    sent yet, the supporter told if it was) and the request leaves the queue. False when
    there was no open ask."""
    assert learner.id is not None
    offer = await uow.offers.open_for_learner(learner.id)
    supporter = await uow.learners.get(offer.supporter_id) if offer else None
    if offer is None or supporter is None:
        return False
    offer.state = OfferState.WITHDRAWN
    await uow.offers.update(offer)
    await move_held_entry(uow, offer, QueueState.LEFT)
    await effects.publish(uow, settings, SupportOfferAnswered(offer, learner, supporter, now))
    return True

