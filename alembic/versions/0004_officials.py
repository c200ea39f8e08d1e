"""officials: links, sign-in codes, requests, evidence, pending review

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_links_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_links')),
    sa.UniqueConstraint('person_id', name=op.f('uq_person_links_person_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_person_links_token_hash'))
    )
    op.create_table('sign_in_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_sign_in_codes_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes'))
    )
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_codes_person_id_created_at', ['person_id', 'created_at'], unique=False)

    op.create_table('official_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reported_completed_on', sa.Date(), nullable=True),
    sa.Column('proposed_due_date', sa.Date(), nullable=True),
    sa.Column('due_date_at_request', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_official_requests_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_official_requests_person_id_persons')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_official_requests_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_requests'))
    )
    with op.batch_alter_table('official_requests', schema=None) as batch_op:
        batch_op.create_index('ix_official_requests_milestone_id', ['milestone_id'], unique=False)
        batch_op.create_index('ix_official_requests_state_created_at', ['state', 'created_at'], unique=False)

    op.create_table('evidence_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_evidence_files_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['request_id'], ['official_requests.id'], name=op.f('fk_evidence_files_request_id_official_requests')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['persons.id'], name=op.f('fk_evidence_files_uploaded_by_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files'))
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_files_request_id', ['request_id'], unique=False)

    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_pending_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('original_due_date', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_column('original_due_date')
        batch_op.drop_column('review_pending_since')

    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_files_request_id')

    op.drop_table('evidence_files')
    with op.batch_alter_table('official_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_official_requests_state_created_at')
        batch_op.drop_index('ix_official_requests_milestone_id')

    op.drop_table('official_requests')
    with op.batch_alter_table('sign_in_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_codes_person_id_created_at')

    op.drop_table('sign_in_codes')
    op.drop_table('person_links')
