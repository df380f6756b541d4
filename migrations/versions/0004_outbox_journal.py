"""The outbox's delivery journal: claim tokens, the claiming instance, attempts in flight.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Exactly-once delivery (issue 10): a row's result is written only by the claim that holds it
(``claim_token``); ``claimed_by`` names the bot instance holding the claim, so that instance
takes its own dead claims back at once after a restart; ``attempt_started_at`` is written
before the platform is called and cleared with the result, so a row found with it set had an
attempt of unknown outcome and is reconciled with the platform before being sent again;
``progress`` keeps the finished steps of a multi-step delivery (text, then files).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('claim_token', sa.String(length=32), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('attempt_started_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('progress', sa.JSON(), nullable=False,
                                   server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('progress')
        batch.drop_column('attempt_started_at')
        batch.drop_column('claimed_by')
        batch.drop_column('claim_token')
