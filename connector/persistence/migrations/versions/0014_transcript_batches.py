"""transcript batches asked for at the registrar's desk

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transcript_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('students', sa.JSON(), nullable=False),
    sa.Column('formats', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('requested_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=False),
    sa.Column('started_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=True),
    sa.Column('finished_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('folder', sa.Text(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_transcript_batch_district_id_district'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_batch')))
    with op.batch_alter_table('transcript_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_batch_district_id'), ['district_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transcript_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_batch_district_id'))
    op.drop_table('transcript_batch')
