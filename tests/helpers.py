"""Test helpers: drive the core exactly as an adapter does, through dispatch.handle."""

from __future__ import annotations

from typing import Any

from core.model import OfferState
from core.replies import Reply
from core.services.announce import announce_due
from core.services.context import Actor, CommandRequest, Services
from core.services.delivery import dispatch_due
from core.settings import CommunitySettings
from tests.fakes import FakeClock

JOIN = {
    "topic": "Python", "languages": "English", "timezone": "Europe/London",
    "availability": "Mon-Fri 18:00-21:00", "cohort": "", "country": "United Kingdom",
}


class RecordingDeliverer:
    """A platform edge that records what it was asked to deliver."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.spaces = 0

    async def deliver(self, message: Any, _community_external_id: str = "", *,
                      journal: Any = None,  # noqa: ARG002 (one step only)
                      ) -> dict[str, Any]:
        self.sent.append(message)
        if message.kind == "space_open":
            self.spaces += 1
            return {"space_id": f"space-{self.spaces}"}
        return {}

    def dms_to(self, user: str) -> list[str]:
        return [m.payload["text"] for m in self.sent if m.kind == "dm" and m.target == user]


class Bot:
    """A community on the 'test' platform, spoken to as different people."""

    def __init__(self, storage: Any, clock: FakeClock | None = None,
                 settings: CommunitySettings | None = None, community: str = "guild-1") -> None:
        self.storage = storage
        self.clock = clock or FakeClock()
        self.services = Services(storage.uow_factory, self.clock, settings or CommunitySettings(),
                                 seed_source=lambda: 1234)
        self.community = community
        self.deliverer = RecordingDeliverer()
        self.admins: set[str] = {"mod"}

    async def run(self, user: str, command: str, /, **args: Any) -> Reply:
        actor = Actor(user, user.capitalize(), platform_admin=user in self.admins)
        request = CommandRequest("test", self.community, actor, command,
                                 {k: str(v) for k, v in args.items()})
        return await handle_request(self.services, request)

    async def book(self, user: str, command: str = "peer schedule", /, **args: Any) -> Reply:
        """Propose a time (schedule or reschedule) and have every other member accept it,
        as they would with the buttons; the answer is the last accept's (or the refusal)."""
        proposed = await self.run(user, command, **args)
        if not proposed.ok:
            return proposed
        pid = int(next(b.args["proposal"] for b in proposed.buttons if "proposal" in b.args))
        async with self.storage.uow_factory() as uow:
            proposal = await uow.proposals.get(pid)
            assert proposal is not None
            match = await uow.matches.get(proposal.match_id)
            assert match is not None
            others = [learner.platform_user_id for i in proposal.waiting_for(match.member_ids())
                      if (learner := await uow.learners.get(i)) is not None]
        reply = proposed
        for other in others:
            reply = await self.run(other, "peer accept", proposal=pid)
        return reply

    async def accept_offers(self) -> list[Reply]:
        """Every open support offer accepted by its supporter, as with the Accept button
        (a round offers a support match to the supporter first)."""
        async with self.storage.uow_factory() as uow:
            community = await uow.communities.by_external("test", self.community)
            assert community is not None and community.id is not None
            asks = []
            for offer in await uow.offers.list(community.id, OfferState.OPEN):
                supporter = await uow.learners.get(offer.supporter_id)
                assert supporter is not None
                asks.append((supporter.platform_user_id, offer.id))
        return [await self.run(user, "peer support-accept", offer=oid) for user, oid in asks]

    async def match_now(self, user: str = "mod") -> Reply:
        """`/peeradmin match-now`, then every support offer it made accepted."""
        reply = await self.run(user, "peeradmin match-now")
        assert all(r.ok for r in await self.accept_offers())
        return reply

    async def join(self, user: str, mode: str = "study-buddy", **fields: Any) -> Reply:
        return await self.run(user, "peer join", mode=mode, **{**JOIN, **fields})

    async def announce(self) -> int:
        """Expand the due match announcements into their rows, as each dispatcher pass does
        first (a new match is stored as one row: core/services/announce.py)."""
        return await announce_due(self.storage.uow_factory, self.clock, self.services.defaults)

    async def deliver(self) -> int:
        result = await dispatch_due(self.storage.uow_factory, self.clock, {"test": self.deliverer},
                                    defaults=self.services.defaults)
        return result.sent


async def handle_request(services: Services, request: CommandRequest) -> Reply:
    from core.services.dispatch import handle

    return await handle(services, request)
