"""An estate's own durations and points for deadlines of the rules file

Revision ID: e3b5d0a7c912
Revises: 5f8e21c3ab70
Create Date: 2026-12-01 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3b5d0a7c912'
down_revision = '5f8e21c3ab70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('estate_rule_overrides',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('deadline', sa.String(length=40), nullable=False),
    sa.Column('within', sa.String(length=20), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_estate_rule_overrides_estate_id_estates')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_estate_rule_overrides_updated_by_id_users')),
    sa.PrimaryKeyConstraint('estate_id', 'kind', 'deadline', name=op.f('pk_estate_rule_overrides'))
    )


def downgrade():
    op.drop_table('estate_rule_overrides')
