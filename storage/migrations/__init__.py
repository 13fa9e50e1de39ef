"""Alembic migrations for helpline's SQL schema; run via storage.db.migrate()."""
