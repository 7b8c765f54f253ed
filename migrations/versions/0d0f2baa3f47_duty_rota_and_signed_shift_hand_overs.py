"""Duty rota and signed shift hand-overs

An estate's rota of shifts (值班表), each the area butlers' or one person's on duty for the whole
estate, and the signed hand-over at the end of each duty shift (交接班记录) with what passed.

Revision ID: 0d0f2baa3f47
Revises: 3c06eff99ce8
Create Date: 2026-12-01 19:49:04.565541

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0d0f2baa3f47'
down_revision = '3c06eff99ce8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_duty_id', sa.Integer(), nullable=True),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_duty_shifts_estate_id_estates')),
    sa.ForeignKeyConstraint(['on_duty_id'], ['users.id'], name=op.f('fk_duty_shifts_on_duty_id_users')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_duty_shifts_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts'))
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shifts_ends_at', ['ends_at'], unique=False)
        batch_op.create_index('ix_duty_shifts_estate_starts', ['estate_id', 'starts_at'], unique=False)

    op.create_table('shift_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('leaving_id', sa.Integer(), nullable=False),
    sa.Column('taking_over_id', sa.Integer(), nullable=False),
    sa.Column('handed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open_work', sa.JSON(), nullable=False),
    sa.Column('leaving_note', sa.Text(), nullable=False),
    sa.Column('signed_by_leaving_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('taking_over_note', sa.Text(), nullable=False),
    sa.Column('signed_by_taking_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_shift_handovers_estate_id_estates')),
    sa.ForeignKeyConstraint(['leaving_id'], ['users.id'], name=op.f('fk_shift_handovers_leaving_id_users')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_shift_handovers_shift_id_duty_shifts')),
    sa.ForeignKeyConstraint(['taking_over_id'], ['users.id'], name=op.f('fk_shift_handovers_taking_over_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_handovers')),
    sa.UniqueConstraint('shift_id', 'taking_over_id', name=op.f('uq_shift_handovers_shift_id'))
    )
    with op.batch_alter_table('shift_handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_handovers_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_handovers_leaving_id'), ['leaving_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_handovers_signed_by_taking_over_at'), ['signed_by_taking_over_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_handovers_taking_over_id'), ['taking_over_id'], unique=False)



def downgrade():
    with op.batch_alter_table('shift_handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_handovers_taking_over_id'))
        batch_op.drop_index(batch_op.f('ix_shift_handovers_signed_by_taking_over_at'))
        batch_op.drop_index(batch_op.f('ix_shift_handovers_leaving_id'))
        batch_op.drop_index(batch_op.f('ix_shift_handovers_estate_id'))

    op.drop_table('shift_handovers')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shifts_estate_starts')
        batch_op.drop_index('ix_duty_shifts_ends_at')

    op.drop_table('duty_shifts')
