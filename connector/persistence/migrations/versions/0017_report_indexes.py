"""indexes that hold what the reports read, so a report never reads whole evidence or record rows

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:50:00
"""

from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_district_item',
                              ['district_id', 'source_item_id', 'evidence_type', 'dok', 'missing'],
                              unique=False)
    with op.batch_alter_table('mastery_record', schema=None) as batch_op:
        batch_op.create_index('ix_mastery_record_district_progress',
                              ['district_id', 'student_id', 'competency_id', 'proficient_since',
                               'first_evidence_at', 'proficient', 'policy_version'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mastery_record', schema=None) as batch_op:
        batch_op.drop_index('ix_mastery_record_district_progress')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_district_item')
