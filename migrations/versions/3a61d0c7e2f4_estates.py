"""Estates: every area, so every building, unit and ticket, is in one estate

An installation holds several estates (项目/小区). A database that already has areas gets one
estate, "默认小区 Estate", holding all of them (renamed later on the pages). An area's name is
unique within its estate, no longer across the installation.

Revision ID: 3a61d0c7e2f4
Revises: 5e2a7c4d9b10
Create Date: 2026-12-01 19:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3a61d0c7e2f4'
down_revision = '5e2a7c4d9b10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('estates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estates')),
    sa.UniqueConstraint('name', name=op.f('uq_estates_name'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))

    areas = sa.table('areas', sa.column('estate_id', sa.Integer()))
    estates = sa.table('estates', sa.column('id', sa.Integer()), sa.column('name', sa.String()))
    connection = op.get_bind()
    if connection.execute(sa.select(sa.func.count()).select_from(areas)).scalar():
        op.bulk_insert(estates, [{'id': 1, 'name': '默认小区 Estate'}])
        op.execute(areas.update().values(estate_id=1))

    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.alter_column('estate_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_areas_name'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_areas_estate_id'), ['estate_id', 'name'])
        batch_op.create_index(batch_op.f('ix_areas_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_areas_estate_id_estates'), 'estates',
                                    ['estate_id'], ['id'])


def downgrade():
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_areas_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_areas_estate_id'))
        batch_op.drop_constraint(batch_op.f('uq_areas_estate_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_areas_name'), ['name'])
        batch_op.drop_column('estate_id')
    op.drop_table('estates')
