"""Persistence: SQLAlchemy models, tenancy guard, Alembic migrations, repositories."""
