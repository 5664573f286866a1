"""``python -m crg``: the same as the ``crg`` command."""

import sys

if __name__ == "__main__":
    try:
        from crg.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the modules load: 130, not a traceback
        sys.exit(130)
    sys.exit(main())
