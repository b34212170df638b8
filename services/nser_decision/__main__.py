"""`python -m nser_decision [options]`: the same as `nser decision [options]`."""

import sys

from nser_decision import cli
from nser_shared.command import run_command

if __name__ == "__main__":
    sys.exit(run_command("nser decision", cli))
