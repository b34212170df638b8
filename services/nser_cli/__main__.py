"""`python -m nser_cli COMMAND [options]`: the `nser` command without its console script."""

import sys

from nser_cli import main

if __name__ == "__main__":
    sys.exit(main())
