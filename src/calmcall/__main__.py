"""``python -m calmcall``: the command line (same as the ``calmcall`` script)."""

import sys

from .cli import main

sys.exit(main())
