"""learning events: xAPI statements and Caliper events received by the intake endpoints

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('learning_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('spec', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('voids', sa.String(length=64), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('received_at', connector.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_learning_event_district_id_district'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_event')),
    sa.UniqueConstraint('district_id', 'provider', 'event_id', name='uq_learning_event_natural')
    )
    with op.batch_alter_table('learning_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learning_event_district_id'), ['district_id'], unique=False)
        batch_op.create_index('ix_learning_event_provider_order', ['district_id', 'provider', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('learning_event', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_event_provider_order')
        batch_op.drop_index(batch_op.f('ix_learning_event_district_id'))
    op.drop_table('learning_event')
