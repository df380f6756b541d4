"""What an offer to a supporter sends (the effects of SupportOffered and
SupportOfferAnswered, core/services/effects.py): the supporter's ask with Accept / Decline,
and the learner told each step; and, when a supporter runs `/peer forget`, their open asks
released (an effect of Forgotten). Keys: core/keys.py ``offer_*``.

Times are instants (``ts``), which each platform renders in the reader's own zone, so the
supporter reads them in theirs. An anonymous learner is never named or described by
anything personal: the supporter reads "An anonymous learner", the need and the topic.
"""

from __future__ import annotations

from core import keys
from core.events import Banned, Forgotten, SupportOfferAnswered, SupportOffered
from core.messages import DirectMessage
from core.model import OfferState, OutboxMessage, QueueEntry, QueueState, SupportOffer
from core.ports import UnitOfWork
from core.replies import Button, mention, ts
from core.settings import CommunitySettings

ANONYMOUS = "An anonymous learner"


def offer_buttons(offer_id: int | None) -> tuple[Button, ...]:
    args = {"offer": str(offer_id)}
    return (Button("Accept", "peer support-accept", args, style="primary"),
            Button("Decline", "peer support-decline", args, style="danger"))


async def ask_supporter(uow: UnitOfWork, _settings: CommunitySettings,
                        event: SupportOffered) -> None:
    """The supporter reads who needs what, when both are free, why them, and until when
    they may answer (the DM is dropped, not sent late, once the window has closed)."""
    offer, profile = event.offer, event.profile
    who = ANONYMOUS if profile.anonymous else mention(event.learner.platform_user_id)
    need = f" with **{profile.support_kind}**" if profile.support_kind else ""
    lines = [f"🙋 {who} asks for support{need} on **{profile.topic}** (offer #{offer.id})."]
    if profile.goal and not profile.anonymous:
        lines.append(f"**Their goal:** {profile.goal}")
    if offer.times:
        lines.append("**Times you both have free:** "
                     + " · ".join(ts(start) for start, _ in offer.times))
    if offer.reasons:
        lines.append("**Why you:** " + " · ".join(offer.reasons))
    lines.append(f"Can you take them? Please answer by {ts(offer.expires_at)}; after that I "
                 "ask another supporter. Their private space opens when you accept.")
    await uow.outbox.add(OutboxMessage(DirectMessage(
        event.supporter.platform_user_id, "\n".join(lines),
        keys.offer_ask(offer.id, offer.supporter_id), buttons=offer_buttons(offer.id),
        expires_at=offer.expires_at), offer.community_id, event.at))


async def tell_learner_asked(uow: UnitOfWork, _settings: CommunitySettings,
                             event: SupportOffered) -> None:
    """"We asked a supporter" (or "they could not take it, asking another")."""
    offer = event.offer
    badge = f" ({event.badge})" if event.badge else ""
    head = ("The supporter I asked could not take your request, so I've asked another "
            f"supporter{badge}." if event.again else f"🔎 I've found a supporter{badge} for "
            f"your request on **{event.profile.topic}** and asked them.")
    text = (f"{head} They have until {ts(offer.expires_at)} to accept; I'll tell you as soon "
            "as they answer. Your request stays open meanwhile (one at a time).")
    await uow.outbox.add(OutboxMessage(DirectMessage(
        event.learner.platform_user_id, text,
        keys.offer_step(offer.id, "asked", offer.learner_id)), offer.community_id, event.at))


async def drop_offer_rows(uow: UnitOfWork, _settings: CommunitySettings,
                          event: SupportOfferAnswered) -> None:
    """An answered (or expired) ask not delivered yet would only confuse."""
    await uow.outbox.drop_matching(keys.offer_prefix(event.offer.id),
                                   f"support offer {event.offer.state.value}")


async def tell_outcome(uow: UnitOfWork, _settings: CommunitySettings,
                       event: SupportOfferAnswered) -> None:
    """The learner hears an accept, or honestly that nobody is left (a hand-on is told by
    the next ``SupportOffered``); a supporter whose window closed hears it was passed on."""
    offer, learner = event.offer, event.learner
    if offer.state is OfferState.WITHDRAWN:
        await uow.outbox.add(OutboxMessage(DirectMessage(
            event.supporter.platform_user_id,
            f"The learner of offer #{offer.id} withdrew their request: nothing to answer.",
            keys.offer_step(offer.id, "withdrawn", offer.supporter_id)),
            offer.community_id, event.at))
        return
    if offer.state is OfferState.EXPIRED:
        await uow.outbox.add(OutboxMessage(DirectMessage(
            event.supporter.platform_user_id,
            f"⌛ Offer #{offer.id} had no answer in time, so I passed the learner on. "
            "No worries: you stay in the supporters' queue.",
            keys.offer_step(offer.id, "expired", offer.supporter_id)),
            offer.community_id, event.at))
    if offer.state is OfferState.ACCEPTED:
        text = (f"✅ {mention(event.supporter.platform_user_id)} accepted your request: match "
                f"#{offer.match_id} is made. Your intro (and your private space, unless you "
                "stay anonymous) is on its way.")
        step = "accepted"
    elif event.handed_on:
        return
    else:
        text = ("😕 The supporter I asked could not take your request, and no other supporter "
                "is free for it right now. You stay in the queue with your place kept; the "
                "next round tries again. `/peer status` shows where you are.")
        step = "nobody"
    await uow.outbox.add(OutboxMessage(DirectMessage(
        learner.platform_user_id, text, keys.offer_step(offer.id, step, offer.learner_id)),
        offer.community_id, event.at))


async def held_entry(uow: UnitOfWork, offer: SupportOffer) -> QueueEntry | None:
    """The learner's queue entry an offer holds, while it still is their latest request."""
    entry = (await uow.queue.latest_for_many([offer.learner_id])).get(offer.learner_id)
    return entry if entry is not None and entry.id == offer.entry_id else None


async def move_held_entry(uow: UnitOfWork, offer: SupportOffer,
                          state: QueueState) -> QueueEntry | None:
    """Put the request an offer holds in ``state`` (back WAITING, or LEFT), if still there."""
    entry = await held_entry(uow, offer)
    if entry is not None:
        entry.state = state
        await uow.queue.update(entry)
    return entry


async def release_offers_to_them(uow: UnitOfWork, _settings: CommunitySettings,
                                 event: Forgotten | Banned) -> None:
    """A supporter who runs `/peer forget` (or is banned) takes their open asks with them:
    each learner asked goes back in the queue, place kept, and is told."""
    gone = event.learner
    for offer in await uow.offers.list(gone.community_id, OfferState.OPEN):
        learner = await uow.learners.get(offer.learner_id)
        if offer.supporter_id != gone.id or learner is None:
            continue
        offer.state = OfferState.WITHDRAWN
        await uow.offers.update(offer)
        await move_held_entry(uow, offer, QueueState.WAITING)
        await uow.outbox.drop_matching(keys.offer_prefix(offer.id), "supporter left")
        await uow.outbox.add(OutboxMessage(DirectMessage(
            learner.platform_user_id,
            "The supporter I asked for your request is no longer available. You are back in "
            "the queue with your place kept; the next round looks again.",
            keys.offer_step(offer.id, "released", offer.learner_id)),
            offer.community_id, event.at))
