"""``python -m sklearn_lravae``: the ``lravae`` command line (see ``lravae --help``)."""

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
