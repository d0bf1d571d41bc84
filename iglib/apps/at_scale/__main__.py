"""``python -m iglib.apps.at_scale`` (and ``torchrun ... -m iglib.apps.at_scale``): the command line."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
