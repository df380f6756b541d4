"""``ix_learners_community_paused``: the paused learners of a community without a scan.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

``/peeradmin queue`` lists the learners paused as ghosts (``LearnerRepository.paused_for``).
Without an index that read every learner of the community: 39 ms of the queue view's
~45 ms at 100,000 learners on SQLite (issue 9.6), where 200 commands a second leave 5 ms
each. A partial index holds only the paused (``pause_reason <> ''``): a handful of rows.
A plain index: no table is rebuilt, so SQLite keeps the triggers of earlier migrations.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAUSED = sa.text("pause_reason <> ''")


def upgrade() -> None:
    op.create_index('ix_learners_community_paused', 'learners', ['community_id', 'id'],
                    unique=False, sqlite_where=_PAUSED, postgresql_where=_PAUSED)


def downgrade() -> None:
    op.drop_index('ix_learners_community_paused', table_name='learners')
