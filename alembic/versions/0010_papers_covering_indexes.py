"""indexes for the 单位画像, the overview's weekly figures and the evaluation's extended milestones

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        # a unit's or an official's milestones are found by project; every column the
        # evaluation's measures read rides along (id too: PostgreSQL's index-only scans
        # need it, SQLite's rowid is in every index anyway), so a 画像 never reads the table
        batch_op.create_index('ix_milestones_project_facts', ['project_id', 'status', 'due_date', 'original_due_date',
                                                               'completed_on', 'owner_id', 'id'], unique=False)
        # the overview's late completions of twelve weeks and the weekly "completed this
        # week" are ranges of completed_on that also read due_date, status and project_id
        # (still only where completed_on is set, as 0009 made it)
        batch_op.drop_index('ix_milestones_completed_on')
        batch_op.create_index('ix_milestones_completed_on', ['completed_on', 'due_date', 'status', 'project_id'],
                              unique=False, sqlite_where=sa.text('completed_on IS NOT NULL'),
                              postgresql_where=sa.text('completed_on IS NOT NULL'))
        # the evaluation finds a period's extended milestones by their original due date
        # (the few with one: a partial index)
        batch_op.create_index('ix_milestones_original_due_date', ['original_due_date'], unique=False,
                              sqlite_where=sa.text('original_due_date IS NOT NULL'),
                              postgresql_where=sa.text('original_due_date IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index('ix_milestones_original_due_date')
        batch_op.drop_index('ix_milestones_completed_on')
        batch_op.create_index('ix_milestones_completed_on', ['completed_on'], unique=False,
                              sqlite_where=sa.text('completed_on IS NOT NULL'),
                              postgresql_where=sa.text('completed_on IS NOT NULL'))
        batch_op.drop_index('ix_milestones_project_facts')
