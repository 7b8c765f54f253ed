"""Invitations: each unit's code for its residents to get in (only its digest kept), and when a
resident activated

Revision ID: b7c4e19a2d53
Revises: d41c7e09a2b5
Create Date: 2026-12-02 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7c4e19a2d53'
down_revision = 'd41c7e09a2b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitations',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_invitations_issued_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_invitations_unit_id_units')),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_invitations'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('activated_at')
    op.drop_table('invitations')
