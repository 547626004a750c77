"""evidence keeps only its raw score's and competency's foreign keys; the rest cascade through the score

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: (constraint, column, referred table): evidence copies these from its raw score, whose own
#: foreign keys delete it, and the score's deletion cascades to its evidence.
REDUNDANT = (
    ('fk_evidence_district_id_district', 'district_id', 'district'),
    ('fk_evidence_student_id_student', 'student_id', 'student'),
    ('fk_evidence_source_item_id_source_item', 'source_item_id', 'source_item'),
)


def upgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        for name, _, _ in REDUNDANT:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        for name, column, table in REDUNDANT:
            batch_op.create_foreign_key(name, table, [column], ['id'], ondelete='CASCADE')
