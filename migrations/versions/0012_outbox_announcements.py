"""Outbox: an index for the match announcements the dispatcher takes (issue 9.5).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

A round stores each new match with one ``match_made`` row (core/messages.py
``AnnounceMatch``); each dispatcher pass takes the oldest due ones (``take_due``: ``WHERE
state = 'pending' AND kind = 'match_made' AND due_at <= now ORDER BY due_at, id LIMIT
200``). Through ``ix_outbox_state_due_at`` that read would walk, and sort, every pending
row of the outbox (the hundreds of thousands of DMs the announcements have already become)
on every pass. This index leads with state and kind and then holds the rows in the order
they are taken, so a pass reads its 200 entries and no more. (A partial index of the
pending announcements alone would be smaller, but SQLite's planner, without statistics,
prefers ``ix_outbox_state_due_at`` to it.)
It follows 0011 (the queue index for stats).
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def upgrade() -> None:
    op.create_index('ix_outbox_state_kind_due_at', 'outbox', ['state', 'kind', 'due_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_state_kind_due_at', table_name='outbox')
