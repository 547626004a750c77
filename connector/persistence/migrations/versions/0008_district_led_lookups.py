"""lookups by raw score lead with the district, so the tenancy predicate never scans a district

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:50:00
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_score_objective', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_score_objective_score')
        batch_op.create_index('ix_raw_score_objective_district_score',
                              ['district_id', 'raw_score_id'], unique=False)
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_district_score', ['district_id', 'raw_score_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_district_score')
    with op.batch_alter_table('raw_score_objective', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_score_objective_district_score')
        batch_op.create_index('ix_raw_score_objective_score', ['raw_score_id'], unique=False)
