"""a file source remembers its last complete read (files' digest, staging context, run)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source_system', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_read', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('source_system', schema=None) as batch_op:
        batch_op.drop_column('last_read')
