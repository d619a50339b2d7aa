"""``python -m rostersync`` runs the command line."""

from rostersync.cli.main import main

main()
