"""Entry point: ``panoptix``. Each command family lives in its own module and registers itself."""

from __future__ import annotations

import typer

from . import data, evaluate, predict, studio, viz

app = typer.Typer(
    name="panoptix",
    help="Semantic, instance and panoptic segmentation: label, convert, predict, evaluate, look.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Command families, one module each; a module registers its commands with `register(app)`.
for _family in (data, evaluate, viz, predict, studio):
    _family.register(app)


def main() -> None:  # pragma: no cover - console script
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
