"""Settings from the environment: every typed helper also reads ``<NAME>_FILE`` (README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcontest.core.env import env_bool, env_int, env_list, env_str


def test_each_helper_reads_the_value_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {"A_STR": "text", "A_INT": "42", "A_BOOL": "yes", "A_LIST": "a.org, b.org"}
    for name, value in values.items():
        (tmp_path / name).write_text(f"{value}\n", encoding="utf-8")
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
        monkeypatch.setenv(name, "ignored: the file wins")
    assert env_str("A_STR", "") == "text"
    assert env_int("A_INT", 1) == 42
    assert env_bool("A_BOOL", False) is True
    assert env_list("A_LIST", []) == ["a.org", "b.org"]


def test_unset_or_empty_gives_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("B_INT", "B_BOOL", "B_LIST"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("B_LIST", " , ")
    assert env_int("B_INT", 7) == 7
    assert env_bool("B_BOOL", True) is True
    assert env_list("B_LIST", ["*"]) == ["*"]
    monkeypatch.setenv("B_BOOL", "off")
    assert env_bool("B_BOOL", True) is False
