"""What every command shares: one-red-line errors with exit code 2, progress bars, tables."""

from __future__ import annotations

import functools
import sys
from typing import Iterable, Iterator, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..core.errors import PanoptixError

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

#: Exit code for bad input (any PanoptixError).
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Print one red line on stderr and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def handle_errors(fn):
    """Turn PanoptixError (and unreadable/unwritable files) into one red line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PanoptixError as exc:
            fail(str(exc))
        except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
            fail(f"{exc.filename}: {exc.strerror}")
        except KeyboardInterrupt:
            err_console.print("[red]interrupted[/]")
            raise typer.Exit(130)

    return wrapper


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr (hidden when stderr is not a terminal unless forced)."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err_console, transient=True,
                        disable=not sys.stderr.isatty())
    with progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
