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
from collections.abc import Sequence
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
    many tombstones now name them by id again."""
    return await restore_many(uow, [learner], now)


async def restore_many(uow: UnitOfWork, newcomers: Sequence[Learner], now: datetime) -> int:
    """``restore`` for many new learners of one community in a few statements (imports)."""
    if not newcomers:
        return 0
    key = await uow.blocks.tombstone_key()
    community_id = newcomers[0].community_id
    assert all(lr.community_id == community_id for lr in newcomers)
    by_subject = {subject_of(key, community_id, lr.platform_user_id): lr for lr in newcomers}
    restored = 0
    for stone in await uow.blocks.tombstones(community_id, list(by_subject)):
        both_gone = stone.other_learner_id is None
        side = stone.subject if stone.subject in by_subject else stone.other_subject
        restored += await _revive(uow, stone, side, by_subject[side], now)
        if both_gone and stone.subject in by_subject:
            # Both sides came back at once (one import): the block itself holds again.
            restored += await _revive(uow, stone, stone.subject, by_subject[stone.subject], now)
    return restored


async def _revive(uow: UnitOfWork, stone: Tombstone, subject: str, learner: Learner,
                  now: datetime) -> int:
    """Name ``learner`` (who is ``subject``) by id in one tombstone, or turn it back into a
    block when the other side is here too."""
    assert stone.id is not None and learner.id is not None
    if stone.subject == subject and stone.other_learner_id is not None:
        await uow.blocks.add(Block(learner.community_id, learner.id, stone.other_learner_id,
                                   stone.reason, now))
        await uow.blocks.delete_tombstone(stone.id)
        return 1
    # The other side is still forgotten: it now blocks this learner, by id.
    other = stone.other_subject if stone.subject == subject else stone.subject
    stone.subject, stone.other_learner_id, stone.other_subject = other, learner.id, ""
    await uow.blocks.update_tombstone(stone)
    return 1
