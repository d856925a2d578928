"""Django's PostgreSQL backend with client-side deadlines:
``ENGINE = "mlcontest.core.postgres"``."""
