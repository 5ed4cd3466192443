"""The SQL store: models, engine and repository functions. Repositories never commit."""
