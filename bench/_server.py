"""Shared by the benchmarks: a real ``mlcontest serve`` in a subprocess and a login helper."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live import LiveServer

__all__ = ["LiveServer", "login"]


def login(base_url: str, username: str, password: str) -> requests.Session:
    """A session signed in the way the seed's client signs in."""
    session = requests.Session()
    token = session.get(f"{base_url}/env.json/", timeout=10).json()["csrftoken"]
    answer = session.post(
        f"{base_url}/accounts/login/?next=%2Fok.json",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        timeout=10,
    )
    answer.raise_for_status()
    if answer.json().get("status") != "ok":
        raise RuntimeError(f"login failed: {answer.text[:200]}")
    return session
