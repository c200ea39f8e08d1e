"""indexes for the papers: 画像 by official and lead leader, 总览 off one index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (status, due_date, project_id): the overview counts open milestones per due date and
    # per project from the index alone, without reading a million table rows
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index('ix_milestones_status_due_date')
        batch_op.create_index('ix_milestones_status_due_date', ['status', 'due_date', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestones_owner_id'), ['owner_id'], unique=False)
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_lead_leader_id'), ['lead_leader_id'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_recipient_id'), ['recipient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_recipient_id'))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_lead_leader_id'))
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestones_owner_id'))
        batch_op.drop_index('ix_milestones_status_due_date')
        batch_op.create_index('ix_milestones_status_due_date', ['status', 'due_date'], unique=False)
