"""Notice settings: what each person has emailed, quiet hours; an area's own group robot

users.email_for lists the kinds of notice a person has emailed (new, step, warning, missed); it
replaces the one switch notify_email: a person who had it on keeps every kind, off keeps none.
users.sms_for lists those texted to their phone (none at first: each text costs the company).

Revision ID: 8b5b11b069e6
Revises: 142ddb3e2ac3
Create Date: 2026-12-01 16:41:50.578919

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8b5b11b069e6'
down_revision = '142ddb3e2ac3'
branch_labels = None
depends_on = None

EVERY_KIND = ["new", "step", "warning", "missed"]


def upgrade():
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('webhook_format', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret', sa.String(length=200), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_for', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sms_for', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('quiet_from', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('quiet_until', sa.Time(), nullable=True))
    users = sa.table('users', sa.column('email_for', sa.JSON()), sa.column('sms_for', sa.JSON()),
                     sa.column('notify_email', sa.Boolean()))
    op.execute(users.update().values(sms_for=[]))
    op.execute(users.update().where(users.c.notify_email).values(email_for=EVERY_KIND))
    op.execute(users.update().where(sa.not_(users.c.notify_email)).values(email_for=[]))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email_for', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('sms_for', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('notify_email')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
    users = sa.table('users', sa.column('email_for', sa.JSON()),
                     sa.column('notify_email', sa.Boolean()))
    op.execute(users.update().where(sa.cast(users.c.email_for, sa.String()) == '[]')
               .values(notify_email=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('quiet_until')
        batch_op.drop_column('quiet_from')
        batch_op.drop_column('sms_for')
        batch_op.drop_column('email_for')

    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret')
        batch_op.drop_column('webhook_format')
        batch_op.drop_column('webhook_url')
