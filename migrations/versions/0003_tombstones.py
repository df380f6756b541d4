"""Blocks that outlive forget: ``tombstones`` and the ``secrets`` that key their hashes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

``/peer forget`` used to delete a learner's blocks with the rest of their data, so someone
could forget, rejoin and be matched again with the person who had unpaired from them. Each
block now becomes a tombstone naming the forgotten side only by an HMAC of their platform id
and community (core/services/tombstones.py); the key is made by the bot on first use and kept
in ``secrets``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tombstones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('other_learner_id', sa.Integer(), nullable=True),
        sa.Column('other_subject', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_tombstones_community_id_communities')),
        sa.ForeignKeyConstraint(['other_learner_id'], ['learners.id'],
                                name=op.f('fk_tombstones_other_learner_id_learners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tombstones')),
    )
    op.create_index('ix_tombstones_community_subject', 'tombstones',
                    ['community_id', 'subject'])
    op.create_index('ix_tombstones_community_other_subject', 'tombstones',
                    ['community_id', 'other_subject'])
    op.create_index(op.f('ix_tombstones_other_learner_id'), 'tombstones', ['other_learner_id'])
    op.create_table(
        'secrets',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_secrets')),
    )


def downgrade() -> None:
    op.drop_table('secrets')
    op.drop_index(op.f('ix_tombstones_other_learner_id'), table_name='tombstones')
    op.drop_index('ix_tombstones_community_other_subject', table_name='tombstones')
    op.drop_index('ix_tombstones_community_subject', table_name='tombstones')
    op.drop_table('tombstones')
