"""Batch runs: a dataset of questions through one checkpoint, or two side by side (A/B).

Datasets are read and checked (`datasets`, `uploads`), answered row by row (`run`, `ab`), scored
against their references (`scoring`) and summed up (`summary`); the app's runs are jobs on their
own threads (`job`) whose results a registry keeps in SQLite (`registry`), and they download as
JSONL or CSV (`export`)."""
