"""The ``mlcontest`` command line: ``main.py`` builds it from the sub-command modules here."""
