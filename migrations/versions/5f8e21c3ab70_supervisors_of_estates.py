"""Supervisors of estates: each supervisor sees, audits and assesses only the estates given them

The supervisors there are when estates get them supervised every estate: each gets every estate,
so nobody sees less than before the migration.

Revision ID: 5f8e21c3ab70
Revises: b7c4e19a2d53
Create Date: 2026-12-01 23:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5f8e21c3ab70'
down_revision = 'b7c4e19a2d53'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('estate_supervisors',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_estate_supervisors_estate_id_estates')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_estate_supervisors_supervisor_id_users')),
    sa.PrimaryKeyConstraint('estate_id', 'supervisor_id', name=op.f('pk_estate_supervisors'))
    )
    with op.batch_alter_table('estate_supervisors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_estate_supervisors_supervisor_id'), ['supervisor_id'], unique=False)
    op.execute("INSERT INTO estate_supervisors (estate_id, supervisor_id) "
               "SELECT estates.id, users.id FROM estates CROSS JOIN users "
               "WHERE users.role = 'supervisor'")


def downgrade():
    with op.batch_alter_table('estate_supervisors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_estate_supervisors_supervisor_id'))
    op.drop_table('estate_supervisors')
