"""Run ``python`` in a subprocess the way the project's command-line tests do (bounded, captured, no check)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: How every command-line test runs: output captured as text, the exit code checked by the test itself.
RUN_OPTIONS = {"capture_output": True, "text": True, "check": False}


def run_python(
    *args: str, cwd: Path, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``cwd`` with ``env``; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=dict(env), timeout=timeout, **RUN_OPTIONS)  # type: ignore[call-overload, no-any-return]
