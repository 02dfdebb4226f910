"""Fast paths of the levels: the same counts as the plain formulation they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liq._levels import count_approaches


def _approaches_by_events(
    extreme: np.ndarray, start: int, price: float, side: str, approach_pct: float
) -> int:
    """The events formulation: within/far labels in time order, counting each entry into 'within'."""
    x = extreme[start:]
    a = approach_pct / 100.0
    if side == "long":
        within = (x > price) & (x <= price * (1 + a))
        far = x > price * (1 + 2 * a)
    else:
        within = (x < price) & (x >= price * (1 - a))
        far = x < price * (1 - 2 * a)
    lab = within[within | far]
    if lab.size == 0:
        return 0
    return int(lab[0]) + int(np.count_nonzero(lab[1:] & ~lab[:-1]))


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.integers(-4, 4), min_size=0, max_size=80),
    start=st.integers(0, 90),
    side=st.sampled_from(["long", "short"]),
    pct=st.sampled_from([0.5, 1.0, 2.0, 1e-20]),
)
def test_count_approaches_equals_the_events_formulation(
    steps: list[int], start: int, side: str, pct: float
) -> None:
    extreme = 100.0 + 0.5 * np.cumsum(np.asarray(steps, dtype=np.float64))
    for price in (97.0, 99.5, 100.0, 101.0, 103.0):
        assert count_approaches(extreme, start, price, side, pct) == _approaches_by_events(
            extreme, start, price, side, pct
        )
