"""api tokens (kept as hashes, with scopes, expiry and revocation); audit before and after

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('expires_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=True),
    sa.Column('revoked_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=True),
    sa.Column('last_used_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_api_token_district_id_district'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name='uq_api_token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_district_id'), ['district_id'],
                              unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('after', sa.JSON(), nullable=True))
        batch_op.create_index('ix_audit_event_action', ['district_id', 'action', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_action')
        batch_op.drop_column('after')
        batch_op.drop_column('before')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_district_id'))
    op.drop_table('api_token')
