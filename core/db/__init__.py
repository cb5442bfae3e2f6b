"""The data layer, the only path to the database: the engine and sessions (database), the tables
(models), the reads and writes (repo), migrations (Alembic) and the data half of seeding (seed). Imports
nothing of core but the shared kernel."""
