import subprocess
import sys

import pytest


@pytest.fixture
def run_cli():
    """Run ``python -m panoptix ARGS`` in a real process; returns CompletedProcess (text)."""

    def run(*args, cwd=None):
        return subprocess.run([sys.executable, "-m", "panoptix", *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                       "HOME": "/tmp"})

    return run
