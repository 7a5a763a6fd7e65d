"""Persistence of the engine: SQLAlchemy models and the database setup."""
