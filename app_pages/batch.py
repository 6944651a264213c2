"""Batch: run a checkpoint over a dataset (upload, or a folder on the server for admins) as a server-side job."""

from components import batch_view

batch_view.render()
