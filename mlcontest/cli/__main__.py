"""``python -m mlcontest.cli``: the ``mlcontest`` command."""

import sys

from mlcontest.cli.main import main

sys.exit(main())
