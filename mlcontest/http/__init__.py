"""What every HTTP entry point shares: the one JSON error body and the action decorator
(``endpoints``), the middleware (``guards``, ``db_outage``, ``language``), sessions and users
through a short cache (``auth_cache``), the ``<id:...>`` path converter."""
