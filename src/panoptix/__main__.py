"""``python -m panoptix`` runs the CLI."""

from .cli.main import app

app(prog_name="panoptix")
