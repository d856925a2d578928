"""The Python client: ``API`` (the seed's client and the rest of the JSON API, api.py), the
exceptions it raises (errors.py) and its one HTTP transport with urllib3's ``Retry``
(transport.py). ``from mlcontest.client import API, Conflict`` is the public interface."""

from mlcontest.client.api import API, DEFAULT_SERVER, env_secret, normalize_url
from mlcontest.client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    LoginFailed,
    NotAuthenticated,
    NotFound,
    QuotaExceeded,
    ServerError,
    ServerFailure,
)

__all__ = [
    "API",
    "DEFAULT_SERVER",
    "BadRequest",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "LoginFailed",
    "NotAuthenticated",
    "NotFound",
    "QuotaExceeded",
    "ServerError",
    "ServerFailure",
    "env_secret",
    "normalize_url",
]
