"""`python -m nser_nwdaf [options]`: the same as `nser nwdaf [options]` (container entry point)."""

import sys

from nser_nwdaf import cli
from nser_shared.command import run_command

if __name__ == "__main__":
    sys.exit(run_command("nser nwdaf", cli))
