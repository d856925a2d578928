"""mlcontest: machine-learning contests for a classroom."""

__version__ = "0.1.0"
