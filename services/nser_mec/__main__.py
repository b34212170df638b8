"""`python -m nser_mec [options]`: the same as `nser serve [options]` (container entry point)."""

import sys

from nser_shared.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
