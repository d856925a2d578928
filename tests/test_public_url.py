"""MLCONTEST_PUBLIC_URL: one setting for a server behind nginx (mlcontest/core/public_url.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from mlcontest.core.public_url import client_address, public_url_settings

REPO = Path(__file__).resolve().parent.parent


def test_an_https_address_sets_hosts_origins_cookies_hsts_and_the_proxy_header() -> None:
    found = public_url_settings("https://contest.example.org/", ["10.0.0.5"], [])
    assert found["ALLOWED_HOSTS"] == ["contest.example.org", "10.0.0.5"]
    assert found["CSRF_TRUSTED_ORIGINS"] == ["https://contest.example.org"]
    assert found["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert found["SESSION_COOKIE_SECURE"] and found["CSRF_COOKIE_SECURE"]
    assert found["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert found["SECURE_SSL_REDIRECT"]


def test_a_port_stays_in_the_origin_and_a_wildcard_host_is_dropped() -> None:
    found = public_url_settings("https://contest.example.org:8443", ["*"], ["https://b.org"])
    assert found["ALLOWED_HOSTS"] == ["contest.example.org"]
    assert found["CSRF_TRUSTED_ORIGINS"] == ["https://contest.example.org:8443", "https://b.org"]


def test_plain_http_sets_no_secure_cookies_and_nothing_unset_sets_nothing() -> None:
    found = public_url_settings("http://lab.example.org", [], [])
    assert found["ALLOWED_HOSTS"] == ["lab.example.org"]
    assert "SESSION_COOKIE_SECURE" not in found and "SECURE_HSTS_SECONDS" not in found
    assert public_url_settings("", ["x"], []) == {}


@pytest.mark.parametrize("wrong", ["contest.example.org", "ftp://a.org", "https://a.org/contest"])
def test_an_address_that_is_not_a_servers_root_is_refused(wrong: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        public_url_settings(wrong, [], [])


def deploy_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "MLCONTEST_DATA_DIR": str(tmp_path), **env}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "ALLOWED_HOSTS", "DEBUG", "SECRET_KEY"):
        environment.pop(name, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcontest.cli",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_is_clean_with_the_public_url_and_not_without(tmp_path: Path) -> None:
    # docs/deploy.md's server.env: the public URL and the secret key file it requires.
    key = tmp_path / "secret_key_file"
    key.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    public = {"MLCONTEST_PUBLIC_URL": "https://contest.example.org", "SECRET_KEY_FILE": str(key)}
    done = deploy_check(tmp_path, **public)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    bare = deploy_check(tmp_path)
    assert bare.returncode != 0
    assert "security.W004" in bare.stderr and "security.W012" in bare.stderr


def test_behind_the_proxy_the_client_address_is_nginx_s_x_real_ip(settings: object) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="192.0.2.7")
    settings.PUBLIC_URL = ""  # type: ignore[attr-defined]
    assert client_address(request) == "127.0.0.1"  # without a proxy the header is a client's
    settings.PUBLIC_URL = "https://contest.example.org"  # type: ignore[attr-defined]
    assert client_address(request) == "192.0.2.7"
