"""missing and late work: evidence remembers work not turned in, raw scores lateness

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('missing', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index('ix_evidence_missing', ['student_id', 'competency_id'],
                              unique=False, sqlite_where=sa.text('missing'),
                              postgresql_where=sa.text('missing'))


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_missing')
        batch_op.drop_column('missing')
    with op.batch_alter_table('raw_score', schema=None) as batch_op:
        batch_op.drop_column('late')
