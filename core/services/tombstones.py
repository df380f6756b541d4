"""Blocks that outlive ``/peer forget``.

Forgetting deletes a learner's data, blocks included; without more, someone a learner
unpaired from ("was rude to me") could forget, come back as a new learner and be matched
with them again. So before the blocks go, each becomes a tombstone naming the forgotten side
only by ``subject_of``: an HMAC of their platform id and community under a key the database
keeps. Nothing readable about them stays; when the same platform id speaks in that community
again, ``restore`` turns its tombstones back into blocks.

Invariant: a blocked pair with one side forgotten is one tombstone (subject = that side's
hash, ``other_learner_id`` = the one still here); with both sides forgotten, one tombstone of
two hashes. ``bury`` and ``restore`` keep it whichever side leaves or returns first.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from core.model import Block, Learner, Tombstone
from core.ports import UnitOfWork


def subject_of(key: bytes, community_id: int, platform_user_id: str) -> str:
    """The keyed, one-way name of a person in a community (hex HMAC-SHA256)."""
    message = f"{community_id}\x1f{platform_user_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def bury(uow: UnitOfWork, learner: Learner, now: datetime) -> None:
    """Keep the learner's blocks as tombstones; call before their blocks are deleted."""
    assert learner.id is not None
    subject = subject_of(await uow.blocks.tombstone_key(), learner.community_id,
                         learner.platform_user_id)
    for block in await uow.blocks.of(learner.id):
        other = block.learner_b if block.learner_a == learner.id else block.learner_a
        await uow.blocks.bury(Tombstone(learner.community_id, subject, block.reason, now,
                                        other_learner_id=other))
    # Tombstones of people forgotten earlier who had blocked this learner: both sides are
    # now gone, so the learner becomes a hash there too.
    for stone in await uow.blocks.tombstones_naming(learner.id):
        stone.other_learner_id, stone.other_subject = None, subject
        await uow.blocks.update_tombstone(stone)


async def restore(uow: UnitOfWork, learner: Learner, now: datetime) -> int:
    """Bring back the blocks of a returning person (a learner just created). Returns how
    many blocks now hold again."""
    assert learner.id is not None
    subject = subject_of(await uow.blocks.tombstone_key(), learner.community_id,
                         learner.platform_user_id)
    restored = 0
    for stone in await uow.blocks.tombstones(learner.community_id, subject):
        assert stone.id is not None
        if stone.subject == subject and stone.other_learner_id is not None:
            await uow.blocks.add(Block(learner.community_id, learner.id,
                                       stone.other_learner_id, stone.reason, now))
            await uow.blocks.delete_tombstone(stone.id)
            restored += 1
            continue
        # The other side is still forgotten: it now blocks this learner, by id.
        other = stone.other_subject if stone.subject == subject else stone.subject
        stone.subject, stone.other_learner_id, stone.other_subject = other, learner.id, ""
        await uow.blocks.update_tombstone(stone)
        restored += 1
    return restored
