"""The folded box that shows the steps of a load or a check: ``st.status`` for new work, a quiet copy for a rerun.

``st.status`` pauses 50 ms each time it opens (so that the browser shows its first label before an update).
On a rerun that reads what the session read a moment before (a click on the chart, a table selection, a
colour change) everything comes from the caches: there is no progress to show, and that pause was a third
of the rerun. :func:`status_box` then draws :class:`QuietStatus` instead: the same folded box, icon, label
and steps, without the pause.

Only ``write`` and ``update`` of the box are used, and nothing else is drawn inside it: a failure is shown in
the open by the caller, above the box.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator
from typing import Any

import streamlit as st

__all__ = ["QuietStatus", "status_box"]

#: The icons of :class:`QuietStatus` per state: those of ``st.status`` (which spins while running).
STATE_ICONS = {
    "running": ":material/hourglass_top:",
    "complete": ":material/check:",
    "error": ":material/error:",
}
#: Session key of what each box's last completed work read, by the box's name (see :func:`status_box`).
_DONE = "_progress_done"


class QuietStatus:
    """``write`` and ``update`` of ``st.status``, drawn as a folded expander with the status's icon.

    It draws twice: when it opens, and when it is done or has failed. The steps written show inside.
    """

    def __init__(self, where: Any, label: str) -> None:
        self._slot = where.empty()
        self._label, self.state, self._lines = label, "running", list[str]()
        self._draw()

    def write(self, text: str) -> None:
        self._lines.append(text)  # drawn with the final state: nothing here takes long enough to show steps

    def update(self, *, label: str | None = None, state: str | None = None, expanded: bool = False) -> None:
        self._label, self.state = label or self._label, state or self.state
        if self.state != "running":  # (a new label while running would be replaced within milliseconds)
            self._draw()

    def _draw(self) -> None:
        with self._slot.expander(self._label, expanded=False, icon=STATE_ICONS[self.state]):
            for line in self._lines:
                st.markdown(line)


class _Tracked:
    """``st.status`` with the last state it was given remembered (so :func:`status_box` knows the work
    completed)."""

    def __init__(self, status: Any) -> None:
        self._status, self.state = status, "running"

    def write(self, text: str) -> None:
        self._status.write(text)

    def update(self, **changes: Any) -> None:
        self.state = changes.get("state") or self.state
        self._status.update(**changes)


@contextlib.contextmanager
def status_box(where: Any, label: str, *, name: str, key: Hashable | None) -> Iterator[Any]:
    """A folded box of steps in ``where``: quiet when the session's last completed ``name`` read ``key``
    (``None``: always ``st.status``). The work counts as completed when the box was last updated to
    ``state="complete"``; a failure, or a stop, leaves nothing recorded."""
    finished = dict(st.session_state.get(_DONE, {}))
    quiet = key is not None and finished.pop(name, None) == key
    st.session_state[_DONE] = finished
    box: QuietStatus | _Tracked
    if quiet:
        box = QuietStatus(where, label)
        yield box
    else:
        with where.status(label, expanded=False) as status:
            box = _Tracked(status)
            yield box
    if box.state == "complete":
        finished[name] = key
        st.session_state[_DONE] = finished
