"""The assessment per estate: a month is closed, and spot-checked, per estate; a finding is
about an estate

Existing closings belong to every existing estate: each is copied for each estate (the frozen
cards as they were), so no estate's closed month opens by the migration. An existing spot-check
belongs to the first estate (with one estate, its own). An existing finding is about its
ticket's estate, else its butler's area's, else the first estate. A database without estates has
nothing a closing could belong to, so closings there are dropped.

Revision ID: 9d3b7a41c2e8
Revises: e3b5d0a7c912
Create Date: 2026-12-01 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9d3b7a41c2e8'
down_revision = 'e3b5d0a7c912'
branch_labels = None
depends_on = None

FIRST_ESTATE = "(SELECT MIN(id) FROM estates)"
TICKET_ESTATE = ("(SELECT areas.estate_id FROM tickets JOIN units ON units.id = tickets.unit_id "
                 "JOIN buildings ON buildings.id = units.building_id "
                 "JOIN areas ON areas.id = buildings.area_id "
                 "WHERE tickets.id = deductions.ticket_id)")
BUTLER_ESTATE = "(SELECT MIN(areas.estate_id) FROM areas WHERE areas.butler_id = deductions.butler_id)"


def upgrade():
    with op.batch_alter_table('deductions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_deductions_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_deductions_estate_id_estates'), 'estates', ['estate_id'], ['id'])
    op.execute(f"UPDATE deductions SET estate_id = COALESCE({TICKET_ESTATE}, {BUTLER_ESTATE}, "
               f"{FIRST_ESTATE}) WHERE finding_code IS NOT NULL")

    with op.batch_alter_table('month_closings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE month_closings SET estate_id = {FIRST_ESTATE}")
    # The copies for the other estates, in the order of the originals (the latest row rules).
    op.execute("INSERT INTO month_closings (estate_id, month, action, actor_id, reason, at, "
               "scorecards) SELECT estates.id, month_closings.month, month_closings.action, "
               "month_closings.actor_id, month_closings.reason, month_closings.at, "
               "month_closings.scorecards FROM month_closings CROSS JOIN estates "
               "WHERE estates.id <> month_closings.estate_id "
               "ORDER BY estates.id, month_closings.id")
    op.execute("DELETE FROM month_closings WHERE estate_id IS NULL")
    with op.batch_alter_table('month_closings', schema=None) as batch_op:
        batch_op.alter_column('estate_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_month_closings_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_month_closings_estate_id_estates'), 'estates', ['estate_id'], ['id'])

    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE spot_checks SET estate_id = {FIRST_ESTATE}")
    op.execute("DELETE FROM spot_check_items WHERE spot_check_id IN "
               "(SELECT id FROM spot_checks WHERE estate_id IS NULL)")
    op.execute("DELETE FROM spot_checks WHERE estate_id IS NULL")
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.alter_column('estate_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_spot_checks_month'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_spot_checks_estate_id'), ['estate_id', 'month'])
        batch_op.create_foreign_key(batch_op.f('fk_spot_checks_estate_id_estates'), 'estates', ['estate_id'], ['id'])


def downgrade():
    # Back to one company-wide month: one spot-check and one history of closing per month (the
    # first estate's), the findings' estates forgotten.
    op.execute("DELETE FROM spot_check_items WHERE spot_check_id IN (SELECT id FROM spot_checks "
               f"WHERE estate_id <> {FIRST_ESTATE})")
    op.execute(f"DELETE FROM spot_checks WHERE estate_id <> {FIRST_ESTATE}")
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_spot_checks_estate_id_estates'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_spot_checks_estate_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_spot_checks_month'), ['month'])
        batch_op.drop_column('estate_id')

    op.execute(f"DELETE FROM month_closings WHERE estate_id <> {FIRST_ESTATE}")
    with op.batch_alter_table('month_closings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_month_closings_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_month_closings_estate_id'))
        batch_op.drop_column('estate_id')

    with op.batch_alter_table('deductions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deductions_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_deductions_estate_id'))
        batch_op.drop_column('estate_id')
