"""`python -m nser_nwdaf [options]`: the same as `nser nwdaf [options]` (container entry point)."""

import sys

from nser_shared.cli import main

sys.exit(main(["nwdaf", *sys.argv[1:]]))
