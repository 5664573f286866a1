"""``python -m crg``: the same as the ``crg`` command (signal handling first: crg.start)."""

import sys

from crg.start import main

if __name__ == "__main__":
    sys.exit(main())
