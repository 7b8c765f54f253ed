"""Events by the state entered and their time

The month page asks whether the month has finished work for its spot-check to draw from, and the
draw reads all of it: events that entered a closing state within the month. Without an index on
that, SQLite walked every repair and complaint with its events, oldest first (1.45 s at 1 M
tickets for the month page, bench/results.md); with (to_state, at) it reads the month's
closings only.

Revision ID: 5e2a7c4d9b10
Revises: 8b5b11b069e6
Create Date: 2026-12-01 17:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e2a7c4d9b10'
down_revision = '8b5b11b069e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_to_state_at', ['to_state', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_to_state_at')
