"""Storage: SQL records, volunteers and opening-hours exceptions (SQLAlchemy + Alembic) and the
live state in Redis (journal, snapshot, lease, records spool), each behind a small class."""
