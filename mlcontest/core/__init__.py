"""Helpers every layer may import (they import nothing of the project's)."""
