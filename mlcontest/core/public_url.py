"""One setting for a server behind a reverse proxy: ``MLCONTEST_PUBLIC_URL``.

The address students type (``https://contest.example.org``) says everything Django must know
to be safe behind nginx: which host names to answer (``ALLOWED_HOSTS``), which origin a
browser's POST may come from (``CSRF_TRUSTED_ORIGINS``), and, for an ``https`` address, that
the proxy's ``X-Forwarded-Proto`` header is to be believed, that cookies go over HTTPS only,
that plain HTTP is redirected and that browsers are told to use HTTPS from now on (HSTS).
Setting these one by one is how deployments end up with a login that fails the Origin check,
or with session cookies sent in clear; here one value sets them together, and
``mlcontest manage check --deploy`` is clean for it (tests/test_public_url.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# A year, as browsers' preload lists expect; MLCONTEST_HSTS_SECONDS shortens it for a trial.
HSTS_SECONDS_DEFAULT = 365 * 24 * 3600
# Paths a load balancer or Prometheus reaches on an instance's own address over plain HTTP:
# redirecting them to HTTPS would send the probe to nginx instead of the instance it checks.
REDIRECT_EXEMPT = [r"^healthz/?$", r"^metrics/?$"]


def public_url_settings(
    url: str,
    extra_hosts: list[str],
    extra_origins: list[str],
    hsts_seconds: int = HSTS_SECONDS_DEFAULT,
    hsts_preload: bool = False,
) -> dict[str, Any]:
    """The settings that ``url`` (the public address) implies; empty when it is unset.

    ``extra_hosts`` and ``extra_origins`` (``ALLOWED_HOSTS`` and ``CSRF_TRUSTED_ORIGINS``, when
    also given) are added to the public ones: an instance's own address, say, for probes that
    reach it directly."""
    if not url:
        return {}
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(
            f"MLCONTEST_PUBLIC_URL must be an http:// or https:// address, not {url!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # The pages and the seed protocol's paths start at the root of the host.
        raise ImproperlyConfigured("MLCONTEST_PUBLIC_URL is a server's root: no path after it")
    origin = f"{parts.scheme}://{parts.netloc}"
    found: dict[str, Any] = {
        "ALLOWED_HOSTS": [parts.hostname, *[host for host in extra_hosts if host != "*"]],
        "CSRF_TRUSTED_ORIGINS": [origin, *extra_origins],
        "PUBLIC_URL": origin,
    }
    if parts.scheme == "https":
        found.update(
            # nginx sets X-Forwarded-Proto to its own scheme (deploy/nginx/mlcontest.conf),
            # overwriting whatever a client sent, so Django may believe it.
            SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
            SECURE_SSL_REDIRECT=True,
            SECURE_REDIRECT_EXEMPT=REDIRECT_EXEMPT,
            SESSION_COOKIE_SECURE=True,
            CSRF_COOKIE_SECURE=True,
            LANGUAGE_COOKIE_SECURE=True,
            SECURE_HSTS_SECONDS=hsts_seconds,
            SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
            SECURE_HSTS_PRELOAD=hsts_preload,
        )
        if not hsts_preload:
            # A preload list takes only a registrable domain (uni.example), never the
            # contest's sub-domain of a university's; asking for it is each site's own choice.
            found["SILENCED_SYSTEM_CHECKS"] = ["security.W021"]
    return found


def behind_proxy(settings: Any) -> bool:
    """Whether the server runs behind the proxy of MLCONTEST_PUBLIC_URL."""
    return bool(getattr(settings, "PUBLIC_URL", ""))


def client_address(request: Any) -> str | None:
    """The address of the client: behind the proxy, the ``X-Real-IP`` that nginx sets (and
    overwrites, so a client cannot choose it); else the connection's. Without this, every
    sign-in behind nginx would come from 127.0.0.1 and share one per-address limit."""
    from django.conf import settings

    meta = request.META
    if behind_proxy(settings) and meta.get("HTTP_X_REAL_IP"):
        return str(meta["HTTP_X_REAL_IP"])
    address = meta.get("REMOTE_ADDR")
    return str(address) if address else None
