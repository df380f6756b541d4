"""Supporters accept or decline: ``support_offers``; verified supporters:
``verified_supporters``; learning/teaching styles on profiles.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A support match a round plans is first offered to the supporter (core/services/
support_offers.py): one row per ask, OPEN until they accept (the match is made then),
decline or let it expire; the next best supporter gets a new row that carries everyone who
already said no (``excluded``). Moderators verify supporters, for all topics or some
(core/services/verification.py). ``profiles.styles`` holds the optional learning or
teaching styles (visual, auditory, reading-writing, hands-on) of the support forms.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'support_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('supporter_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('times', sa.JSON(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('excluded', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('match_id', sa.Integer(), nullable=True),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'],
                                name=op.f('fk_support_offers_community_id_communities')),
        sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], ondelete='CASCADE',
                                name=op.f('fk_support_offers_learner_id_learners')),
        sa.ForeignKeyConstraint(['supporter_id'], ['learners.id'], ondelete='CASCADE',
                                name=op.f('fk_support_offers_supporter_id_learners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_offers')),
    )
    op.create_index(op.f('ix_support_offers_community_id'), 'support_offers', ['community_id'])
    op.create_index(op.f('ix_support_offers_learner_id'), 'support_offers', ['learner_id'])
    op.create_index(op.f('ix_support_offers_supporter_id'), 'support_offers', ['supporter_id'])
    # One open ask per learner: a second one for the same request is refused by the database.
    op.create_index('uq_support_offers_open_learner', 'support_offers', ['learner_id'],
                    unique=True, sqlite_where=sa.text("state = 'open'"),
                    postgresql_where=sa.text("state = 'open'"))
    op.create_table(
        'verified_supporters',
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('topics', sa.JSON(), nullable=False),
        sa.Column('verified_by', sa.String(length=64), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], ondelete='CASCADE',
                                name=op.f('fk_verified_supporters_learner_id_learners')),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'],
                                name=op.f('fk_verified_supporters_community_id_communities')),
        sa.PrimaryKeyConstraint('learner_id', name=op.f('pk_verified_supporters')),
    )
    op.create_index(op.f('ix_verified_supporters_community_id'), 'verified_supporters',
                    ['community_id'])
    with op.batch_alter_table('profiles') as batch:
        batch.add_column(sa.Column('styles', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('profiles') as batch:
        batch.drop_column('styles')
    op.drop_index(op.f('ix_verified_supporters_community_id'), table_name='verified_supporters')
    op.drop_table('verified_supporters')
    op.drop_index('uq_support_offers_open_learner', table_name='support_offers')
    op.drop_index(op.f('ix_support_offers_supporter_id'), table_name='support_offers')
    op.drop_index(op.f('ix_support_offers_learner_id'), table_name='support_offers')
    op.drop_index(op.f('ix_support_offers_community_id'), table_name='support_offers')
    op.drop_table('support_offers')
