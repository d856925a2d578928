"""A process that has done its work exits cleanly: the database deadline watcher (a daemon thread)
is stopped by the exit handlers, before the interpreter tears its modules down. Left running, it
could start a garbage collection then that destroys Arrow objects after Arrow's own exit
handlers, and the process aborted after its work (status 134, "terminate called without an
active exception"): `mlcontest` commands and bench set-ups that read a dataset, now and then."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.live import REPO

SCRIPT = textwrap.dedent(
    """
    import atexit, threading
    # Registered first, so run last of the exit handlers: what is still running by then.
    atexit.register(lambda: print("alive at exit:", sorted(t.name for t in threading.enumerate())))
    from mlcontest.core.postgres.deadlines import Deadlines
    deadlines = Deadlines(tick=0.05)
    with deadlines.guard(0, 30.0):  # a database call: the watcher starts
        pass
    print("watching:", "db-deadlines" in [t.name for t in threading.enumerate()])
    """
)


def test_the_deadline_watcher_is_stopped_before_the_interpreter_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "watching: True" in done.stdout
    assert "alive at exit: ['MainThread']" in done.stdout, done.stdout
