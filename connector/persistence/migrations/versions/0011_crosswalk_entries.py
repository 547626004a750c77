"""crosswalk entries made through the API (the mapping queue), beside the file crosswalks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crosswalk_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=255), nullable=False),
    sa.Column('competency', sa.String(length=255), nullable=False),
    sa.Column('dok', sa.Integer(), nullable=True),
    sa.Column('evidence_type', sa.String(length=40), nullable=True),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('match', sa.String(length=10), nullable=False),
    sa.Column('course', sa.String(length=255), nullable=False),
    sa.Column('created_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_crosswalk_entry_district_id_district'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crosswalk_entry')))
    op.create_index(op.f('ix_crosswalk_entry_district_id'), 'crosswalk_entry', ['district_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_crosswalk_entry_district_id'), table_name='crosswalk_entry')
    op.drop_table('crosswalk_entry')
