"""operations: alerts sent to IT, held pushes, the level last sent per result

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', connector.persistence.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', connector.persistence.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_alert_district_id_district'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('district_id', 'dedupe_key', name='uq_alert_dedupe_key')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_district_id'), ['district_id'], unique=False)
    with op.batch_alter_table('push_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level_value', sa.Float(), nullable=True))
    with op.batch_alter_table('push_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_digest', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('decided_at', connector.persistence.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('push_run', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('plan_digest')
    with op.batch_alter_table('push_ledger', schema=None) as batch_op:
        batch_op.drop_column('level_value')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_district_id'))
    op.drop_table('alert')
