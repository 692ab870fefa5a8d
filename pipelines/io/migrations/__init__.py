"""Alembic migrations for Flux's database (run through ``flux db upgrade`` or on first use)."""
