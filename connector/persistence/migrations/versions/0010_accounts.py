"""people who sign in: users, their role grants, browser sessions; a token's owner

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.persistence.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_AT = connector.persistence.types.UTCDateTime(timezone=True)


def _tenant(table: str) -> list[sa.SchemaItem]:
    return [sa.Column('district_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['district_id'], ['district.id'],
                                    name=op.f(f'fk_{table}_district_id_district'),
                                    ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}'))]


def _owner(table: str) -> list[sa.SchemaItem]:
    return [sa.Column('user_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                    name=op.f(f'fk_{table}_user_id_app_user'),
                                    ondelete='CASCADE')]


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('roster_id', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', _AT, nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('password_changed_at', _AT, nullable=True),
    sa.Column('last_sign_in_at', _AT, nullable=True),
    *_tenant('app_user'),
    sa.UniqueConstraint('district_id', 'email', name='uq_app_user_email'))
    op.create_index(op.f('ix_app_user_district_id'), 'app_user', ['district_id'], unique=False)
    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    *_owner('role_grant'),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('school', sa.String(length=255), nullable=False),
    sa.Column('granted_at', _AT, nullable=False),
    sa.Column('granted_by', sa.String(length=255), nullable=False),
    *_tenant('role_grant'),
    sa.UniqueConstraint('user_id', 'role', 'school', name='uq_role_grant'))
    op.create_index(op.f('ix_role_grant_district_id'), 'role_grant', ['district_id'],
                    unique=False)
    op.create_index(op.f('ix_role_grant_user_id'), 'role_grant', ['user_id'], unique=False)
    op.create_table('sign_in',
    sa.Column('id', sa.Integer(), nullable=False),
    *_owner('sign_in'),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('created_at', _AT, nullable=False),
    sa.Column('expires_at', _AT, nullable=False),
    *_tenant('sign_in'),
    sa.UniqueConstraint('session_hash', name='uq_sign_in_hash'))
    op.create_index(op.f('ix_sign_in_district_id'), 'sign_in', ['district_id'], unique=False)
    op.create_index(op.f('ix_sign_in_user_id'), 'sign_in', ['user_id'], unique=False)
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_token_user_id_app_user'), 'app_user',
                                    ['user_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_token_user_id_app_user'), type_='foreignkey')
        batch_op.drop_column('user_id')
    for table in ('sign_in', 'role_grant'):
        op.drop_index(op.f(f'ix_{table}_user_id'), table_name=table)
        op.drop_index(op.f(f'ix_{table}_district_id'), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f('ix_app_user_district_id'), table_name='app_user')
    op.drop_table('app_user')
