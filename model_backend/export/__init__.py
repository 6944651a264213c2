"""Conversations leaving and entering the app: the replay script and request exports that reproduce
an answer outside it (`replay`, filled from `templates/`), and the schema an imported export must
match before a turn is built from it (`schema`)."""
