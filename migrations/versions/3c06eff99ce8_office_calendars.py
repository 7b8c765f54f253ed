"""Office calendars: office hours, the holiday switch and closed days of an estate

Deadlines counted in office time (`calendar = "office"` in the rules) count an estate's office
hours by weekday, on working days: the mainland's public holidays off and their make-up working
days (调休) on, unless the estate turns them off, and never its own closed days. An estate with no
row in estate_calendars keeps the default (Monday to Friday, 08:30-17:30, holidays on), so
nothing needs filling in here.

Revision ID: 3c06eff99ce8
Revises: b116b637a5ec
Create Date: 2026-12-01 19:50:10.352970

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3c06eff99ce8'
down_revision = 'b116b637a5ec'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('estate_calendars',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('public_holidays', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_estate_calendars_estate_id_estates')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_estate_calendars_updated_by_id_users')),
    sa.PrimaryKeyConstraint('estate_id', name=op.f('pk_estate_calendars'))
    )
    op.create_table('closed_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate_calendars.estate_id'], name=op.f('fk_closed_days_estate_id_estate_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_days')),
    sa.UniqueConstraint('estate_id', 'day', name=op.f('uq_closed_days_estate_id'))
    )
    op.create_table('office_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estate_calendars.estate_id'], name=op.f('fk_office_hours_estate_id_estate_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_hours')),
    sa.UniqueConstraint('estate_id', 'weekday', 'opens', name=op.f('uq_office_hours_estate_id'))
    )


def downgrade():
    op.drop_table('office_hours')
    op.drop_table('closed_days')
    op.drop_table('estate_calendars')
