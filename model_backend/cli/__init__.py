"""`python -m model_backend`: the command line over the same backend as the app. `main` parses and
dispatches (`ask`, `chat`, `make-demo`, `doctor`), `batch` and `batch_ab` run datasets. Nothing else
imports this package: it is the top layer."""
