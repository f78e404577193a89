"""Entry point: ``panoptix``. Each command family lives in its own module and registers itself."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="panoptix",
    help="Semantic, instance and panoptic segmentation: label, convert, predict, evaluate, look.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Command families, one module each; a module registers its commands with `register(app)`.
COMMAND_MODULES = ["data", "evaluate", "viz", "predict", "studio"]

for _name in COMMAND_MODULES:
    _module_path = f"{__package__}.{_name}"
    try:
        _module = importlib.import_module(_module_path)
    except ModuleNotFoundError as exc:  # a family not built yet; any other missing import is a real error
        if exc.name != _module_path:
            raise
        continue
    _module.register(app)


def main() -> None:  # pragma: no cover - console script
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
