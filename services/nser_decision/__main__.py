"""`python -m nser_decision [options]`: the same as `nser decision [options]`."""

import sys

from nser_shared.cli import main

sys.exit(main(["decision", *sys.argv[1:]]))
