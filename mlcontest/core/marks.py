"""``gettext_noop`` without Django: marks a text for the German catalogue and returns it as it is.

Django's own ``gettext_noop`` reads the settings, but the algorithm registry is imported where
Django is not set up (the worker, the command line's parser). `tasks.py messages` finds texts
marked with it; the pages translate them with ``gettext`` where they show them.
"""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    return message
