"""transcript versions: draft, reviewed, issued, superseded, revoked

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = connector.persistence.types.UTCDateTime(timezone=True)
    op.create_table('transcript_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_sis_id', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('snapshot_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', when, nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('reviewed_at', when, nullable=True),
    sa.Column('reviewed_by', sa.String(length=255), nullable=False),
    sa.Column('issued_at', when, nullable=True),
    sa.Column('issued_by', sa.String(length=255), nullable=False),
    sa.Column('closed_at', when, nullable=True),
    sa.Column('closed_by', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('status_index', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_transcript_document_district_id_district'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_document')),
    sa.UniqueConstraint('district_id', 'student_sis_id', 'version',
                        name='uq_transcript_document_version'))
    with op.batch_alter_table('transcript_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_document_district_id'), ['district_id'],
                              unique=False)
        batch_op.create_index('ix_transcript_document_student',
                              ['district_id', 'student_sis_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transcript_document', schema=None) as batch_op:
        batch_op.drop_index('ix_transcript_document_student')
        batch_op.drop_index(batch_op.f('ix_transcript_document_district_id'))
    op.drop_table('transcript_document')
