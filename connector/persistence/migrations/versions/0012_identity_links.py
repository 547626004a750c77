"""identity links from the identity queue; rejections keep their source and unmatched subject

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('created_at', connector.persistence.types.UTCDateTime(timezone=True),
              nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_identity_link_district_id_district'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'],
                            name=op.f('fk_identity_link_student_id_student'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_link')),
    sa.UniqueConstraint('district_id', 'source', 'kind', 'external_id',
                        name='uq_identity_link_natural'))
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_link_district_id'), ['district_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_identity_link_student_id'), ['student_id'],
                              unique=False)
    with op.batch_alter_table('source_system', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'reread_asked_at', connector.persistence.types.UTCDateTime(timezone=True),
            nullable=True))
    with op.batch_alter_table('sync_rejection', schema=None) as batch_op:
        # Earlier rejections did not keep these: blank, as a later step's rejections are.
        batch_op.add_column(sa.Column('source', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('subject', sa.String(length=255), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('sync_rejection', schema=None) as batch_op:
        batch_op.drop_column('subject')
        batch_op.drop_column('source')
    with op.batch_alter_table('source_system', schema=None) as batch_op:
        batch_op.drop_column('reread_asked_at')
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_link_student_id'))
        batch_op.drop_index(batch_op.f('ix_identity_link_district_id'))
    op.drop_table('identity_link')
