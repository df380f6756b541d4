"""Booking by agreement: ``session_proposals``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

``/peer schedule`` used to book at once, and only inside everyone's declared hours. Now any
member proposes a time and a length; the others accept or decline, and only when all have
accepted is the session booked (core/services/proposals.py). A proposal row keeps who has
said yes so far. (Numbered 0007 beside the 0005 and 0006 of other branches; the integrator
chains it after the last of them.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'session_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('proposed_by', sa.Integer(), nullable=False),
        sa.Column('start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted', sa.JSON(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['match_id'], ['matches.id'], ondelete='CASCADE',
                                name=op.f('fk_session_proposals_match_id_matches')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_proposals')),
    )
    op.create_index(op.f('ix_session_proposals_match_id'), 'session_proposals', ['match_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_session_proposals_match_id'), table_name='session_proposals')
    op.drop_table('session_proposals')
