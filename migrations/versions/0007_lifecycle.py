"""Matches that turn into meetings: why a pause, when a member last answered, a skipped
round, rotating partners.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

- ``learners.pause_reason``: '' for a pause the learner asked for, ``ghost: ...`` when
  PeerMatch paused them for leaving check-ins unanswered (core/services/ghosts.py);
- ``match_members.answered_at``: the last time the member answered a check-in of the match
  (silence is counted from it);
- ``queue_entries.skip_at``: ``/peer skip``: the entry sits out the first real round that
  starts after this instant, then takes part again (core/services/skipping.py);
- ``profiles.rotate_partners``: accountability and study groups: move on to new partners
  every ``rematch_every_weeks`` weeks instead of keeping them (core/services/cadence.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('learners') as batch:
        batch.add_column(sa.Column('pause_reason', sa.Text(), nullable=False,
                                   server_default=''))
    # Not a batch: on SQLite a batch rebuilds the table and loses its triggers (0002);
    # adding and dropping a plain column are native ALTERs there (SQLite 3.35+).
    op.add_column('match_members', sa.Column('answered_at', sa.DateTime(timezone=True),
                                             nullable=True))
    with op.batch_alter_table('queue_entries') as batch:
        batch.add_column(sa.Column('skip_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('profiles') as batch:
        batch.add_column(sa.Column('rotate_partners', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('profiles') as batch:
        batch.drop_column('rotate_partners')
    with op.batch_alter_table('queue_entries') as batch:
        batch.drop_column('skip_at')
    op.drop_column('match_members', 'answered_at')
    with op.batch_alter_table('learners') as batch:
        batch.drop_column('pause_reason')
