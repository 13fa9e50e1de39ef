"""Alembic migrations for helpline's SQL schema; run via helpline.db.migrate()."""
