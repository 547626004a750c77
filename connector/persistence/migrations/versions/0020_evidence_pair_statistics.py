"""PostgreSQL learns how many (student, competency) pairs evidence holds: extended statistics

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

#: The planner multiplies the columns' own distinct counts and divides by correlation it
#: cannot see. For 25,000 students it expected 137,487 pairs where there were 525,000, and
#: its parallel hash aggregate of ``SELECT DISTINCT student_id, competency_id``, sized for
#: the smaller number, spilled for more than three minutes instead of half a second.
STATISTICS = 'st_evidence_pair'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':  # SQLite has no extended statistics
        op.execute(f'CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) '
                   'ON student_id, competency_id FROM evidence')
        op.execute('ANALYZE evidence')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP STATISTICS IF EXISTS {STATISTICS}')
