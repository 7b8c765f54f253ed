"""Units keep what the owner sheet says of them: entrance (单元), floor, floor area, note

Revision ID: d41c7e09a2b5
Revises: 0d0f2baa3f47
Create Date: 2026-12-02 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd41c7e09a2b5'
down_revision = '0d0f2baa3f47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entrance', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('floor', sa.Integer(), nullable=True))
        # square metres in hundredths (models.estate.SquareMetres)
        batch_op.add_column(sa.Column('size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('size')
        batch_op.drop_column('floor')
        batch_op.drop_column('entrance')
