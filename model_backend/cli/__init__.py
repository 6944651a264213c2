"""`python -m model_backend`: the command line over the same backend as the app. `flags` builds the
parser, `main` dispatches (`ask`, `chat`, `make-demo`, `doctor`), `batch` and `batch_ab` run
datasets and `report` prints their progress and summary. Nothing else imports this package: it is
the top layer."""
