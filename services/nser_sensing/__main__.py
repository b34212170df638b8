"""`python -m nser_sensing [options]`: the same as `nser sense [options]`."""

import sys

from nser_shared.cli import main

if __name__ == "__main__":
    sys.exit(main(["sense", *sys.argv[1:]]))
