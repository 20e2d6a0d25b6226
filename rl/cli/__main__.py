"""``python -m rl.cli ...`` (and ``torchrun -m rl.cli train ...``): the ``rlvr`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
