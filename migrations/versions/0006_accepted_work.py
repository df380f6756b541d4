"""Accepted work: commands acknowledged to the platform, kept until done.

Revision ID: 0006
Revises: 0005 (0005 had not landed when this was written: re-chain onto it)
Create Date: 2026-12-02

Issue 10.4: a slow command (``/peeradmin match-now``) or a follow-up (an instant match after
a join) is written before the platform's ack, or in the joining transaction, and run from
this table, so a crash after the ack finishes it on restart (core/accepted.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'accepted_work',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('community_external_id', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('reply_to', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_accepted_work')),
    )
    op.create_index('ix_accepted_work_state_accepted_at', 'accepted_work',
                    ['state', 'accepted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_accepted_work_state_accepted_at', table_name='accepted_work')
    op.drop_table('accepted_work')
