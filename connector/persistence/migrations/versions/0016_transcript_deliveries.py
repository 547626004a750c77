"""files of issued transcripts handed to delivery targets

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transcript_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('delivered_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_transcript_delivery_district_id_district'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_delivery')),
    sa.UniqueConstraint('district_id', 'target', 'file_name',
                        name='uq_transcript_delivery_file'))
    with op.batch_alter_table('transcript_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_delivery_district_id'), ['district_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transcript_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_delivery_district_id'))
    op.drop_table('transcript_delivery')
