"""`python -m model_backend ...`: see `model_backend.cli`."""

import sys

from model_backend.cli import main

if __name__ == "__main__":
    sys.exit(main())
