"""Set-up sub-commands (dataset, group, user, round): placeholder until written."""

from __future__ import annotations

import argparse


def register_setup_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    return None
