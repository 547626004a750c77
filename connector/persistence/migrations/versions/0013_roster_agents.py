"""roster agents: the parent and guardian links of OneRoster users' agentSourcedIds

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roster_agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_system', sa.String(length=64), nullable=False),
    sa.Column('person_sourced_id', sa.String(length=255), nullable=False),
    sa.Column('agent_sourced_id', sa.String(length=255), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                            name=op.f('fk_roster_agent_district_id_district'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_agent')),
    sa.UniqueConstraint('district_id', 'source_system', 'person_sourced_id', 'agent_sourced_id',
                        name='uq_roster_agent_natural'))
    with op.batch_alter_table('roster_agent', schema=None) as batch_op:
        batch_op.create_index('ix_roster_agent_agent', ['district_id', 'agent_sourced_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_roster_agent_district_id'), ['district_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('roster_agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_agent_district_id'))
        batch_op.drop_index('ix_roster_agent_agent')
    op.drop_table('roster_agent')
