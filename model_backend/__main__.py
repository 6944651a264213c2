"""`python -m model_backend ...`: see `model_backend.cli.main`."""

import sys

from model_backend.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
