"""the tables a sync fills lose their district-only index: composite ones lead with the district

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

#: Each table's indexes that lead with ``district_id`` keep serving the tenancy predicate
#: and the district's ON DELETE CASCADE: raw_score and raw_score_objective their natural
#: keys, evidence ``ix_evidence_district_score``, records ``ix_mastery_record_district_progress``.
TABLES = ('raw_score', 'raw_score_objective', 'evidence', 'mastery_record')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_district_id')


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_district_id', ['district_id'], unique=False)
