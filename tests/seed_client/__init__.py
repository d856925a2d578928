"""The seed's original Python client, rebuilt from its web rendering (see ``api.py``).

``api.py`` does ``import settings`` at import time, so it is never imported as part of this
package: tests/test_seed_client.py loads it as a top-level module after writing that file."""
