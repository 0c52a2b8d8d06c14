"""The store: database set-up, system tables (alembic-migrated), the real
tables of app forms, their schema changes, and file storage (DESIGN §2, §4).

Modules: ``database`` (URL, dialects, transactions), ``models`` (system
tables), ``migrate`` (alembic upgrade from code), ``tables`` (Core tables of
a form), ``schema_change`` (plan / apply / purge), ``files`` (uploads).
Import what you need from those modules; this package exports nothing so
that importing it stays cheap.
"""
