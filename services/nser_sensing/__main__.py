"""`python -m nser_sensing [options]`: the same as `nser sense [options]`, as one device group's
process (`nser up` and the compose file start it so)."""

import os
import sys

# A device group computes one window's features at a time on each of its threads: OpenBLAS's own
# threads (one per core by default) only spin beside the other processes of a one-host network,
# and twice the CPU per window showed in a profile. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from nser_sensing import cli
from nser_shared.command import run_command

if __name__ == "__main__":
    sys.exit(run_command("nser sense", cli))
