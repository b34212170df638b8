"""`python -m nser_mec [options]`: the same as `nser serve [options]` (container entry point)."""

import sys

from nser_mec import cli
from nser_shared.command import run_command

if __name__ == "__main__":
    sys.exit(run_command("nser serve", cli))
