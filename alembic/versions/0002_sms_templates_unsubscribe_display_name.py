"""outbox template name and parameters, longer provider error codes, unsubscribe requests, users' display names

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('template_params', sa.JSON(), nullable=True))
        batch_op.alter_column('provider_error_code', existing_type=sa.String(length=16), type_=sa.String(length=64))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsubscribe_requested_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('display_name')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('unsubscribe_requested_at')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('provider_error_code', existing_type=sa.String(length=64), type_=sa.String(length=16))
        batch_op.drop_column('template_params')
        batch_op.drop_column('template')
