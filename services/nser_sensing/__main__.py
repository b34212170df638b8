"""`python -m nser_sensing [options]`: the same as `nser sense [options]`."""

import sys

from nser_sensing import cli
from nser_shared.command import run_command

if __name__ == "__main__":
    sys.exit(run_command("nser sense", cli))
