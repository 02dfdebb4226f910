"""How the server process's memory allocator is set up (glibc's malloc, Linux only).

Streamlit runs every session's script in a thread of its own. glibc's malloc gives threads that allocate at
the same time arenas of their own (up to 8 per core), and memory freed in an arena mostly stays with that
arena instead of going back to the system. Under many viewers the server's resident memory then grows with
the number of arenas, not with what the caches hold. ``python -m benchmarks.load`` (50 viewers, 60 s, this
2-core machine) measured a peak of 625-654 MB with glibc's default, 502 MB with ``MALLOC_ARENA_MAX=2`` set
before the server started (one run) and 523-585 MB with the limit set here (eight runs, with other changes).
:func:`limit_malloc_arenas` sets the limit from inside the process (``app.py`` calls it first), because a
hosted app cannot set ``MALLOC_ARENA_MAX`` before its server starts; arenas made before that call stay.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from typing import Any

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas"]

logger = logging.getLogger(__name__)

#: malloc arenas the server may use (glibc's default is 8 per core). With two, the load benchmark's p95 rerun
#: was 0.68 s in one run against 1.04 s with glibc's default (a noisy machine: not slower, not proven faster).
MALLOC_ARENAS = 2
#: glibc's ``mallopt`` parameter number for the arena limit (``M_ARENA_MAX`` in malloc.h).
M_ARENA_MAX = -8
#: The environment variable glibc reads at start for the same limit; when it is set, it wins.
ARENA_ENV = "MALLOC_ARENA_MAX"

_state: dict[str, bool] = {}


def _libc() -> Any | None:
    """glibc, or None when this is not Linux with glibc (macOS, Windows, musl: nothing to set)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Limit glibc's malloc to ``arenas`` arenas, once per process; True when the limit is in force.

    Arenas that exist already stay; no new ones are made past the limit. Nothing is changed when
    ``MALLOC_ARENA_MAX`` is set (the operator chose) or the C library is not glibc.

    Examples
    --------
    >>> limit_malloc_arenas() in (True, False)
    True
    """
    if "done" in _state:
        return _state["done"]
    libc = None if os.environ.get(ARENA_ENV) else _libc()
    done = bool(libc is not None and libc.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(int(arenas))) == 1)
    if libc is not None and not done:
        logger.warning("glibc refused the malloc arena limit (%d); memory use may be higher", arenas)
    _state["done"] = done
    return done
