"""task schedule (standing / recurring), the deadline phrase, co-units as unit rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('deadline_phrase', sa.String(length=100), server_default='', nullable=False))
    op.create_table('project_co_units',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_co_units_project_id_projects')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_project_co_units_unit_id_units')),
    sa.PrimaryKeyConstraint('project_id', 'unit_id', name=op.f('pk_project_co_units'))
    )
    with op.batch_alter_table('project_co_units', schema=None) as batch_op:
        batch_op.create_index('ix_project_co_units_unit_id', ['unit_id'], unique=False)
    # co-units kept so far as text only: one unit row each, linked to its project
    connection = op.get_bind()
    projects = connection.execute(sa.text("SELECT id, co_units FROM projects WHERE co_units <> ''")).fetchall()
    if projects:
        now = connection.execute(sa.text("SELECT created_at FROM projects ORDER BY id LIMIT 1")).scalar()
        for project_id, text in projects:
            for name in [part for part in text.split('、') if part]:
                unit_id = connection.execute(sa.text("SELECT id FROM units WHERE name = :n"), {"n": name}).scalar()
                if unit_id is None:
                    connection.execute(sa.text("INSERT INTO units (name, created_at) VALUES (:n, :at)"),
                                       {"n": name, "at": now})
                    unit_id = connection.execute(sa.text("SELECT id FROM units WHERE name = :n"), {"n": name}).scalar()
                connection.execute(sa.text("INSERT INTO project_co_units (project_id, unit_id) VALUES (:p, :u)"),
                                   {"p": project_id, "u": unit_id})


def downgrade() -> None:
    with op.batch_alter_table('project_co_units', schema=None) as batch_op:
        batch_op.drop_index('ix_project_co_units_unit_id')
    op.drop_table('project_co_units')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('deadline_phrase')
        batch_op.drop_column('schedule')
