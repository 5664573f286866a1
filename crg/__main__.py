"""``python -m crg``: the same as the ``crg`` command."""

import sys

from crg.cli import main

if __name__ == "__main__":
    sys.exit(main())
