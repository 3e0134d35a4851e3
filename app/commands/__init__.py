"""One module per `lifesign` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets
``handler``; :mod:`app.cli` discovers them, so a new command is a new
file and never an edit to a shared one.
"""
