"""The one formatter (liq/_format.py): prices, USD, percentages and level labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

import liq
from liq._format import MISSING, format_level_label, format_pct, format_price, format_usd, price_decimals


@pytest.mark.parametrize(
    ("side", "price", "usd", "label"),
    [
        ("long", 94_812.2, 12.4e6, "L 94,812.20 · $12.4M"),
        ("short", 101_220, 8.1e6, "S 101,220.00 · $8.1M"),
        ("long", 3_412.55, 950_000, "L 3,412.55 · $950K"),
        ("short", 0.2345, 1.26e9, "S 0.234500 · $1.3B"),
        ("Long", 1.5, 999, "L 1.5000 · $999"),
    ],
)
def test_level_labels(side: str, price: float, usd: float, label: str) -> None:
    assert format_level_label(side, price, usd) == label


def test_level_label_rejects_unknown_side_with_a_liq_error() -> None:
    with pytest.raises(liq.DataValidationError, match="side"):
        format_level_label("both", 1.0, 1.0)


def test_public_names_are_the_formatter() -> None:
    assert liq.format_usd is format_usd
    assert liq.format_level_label is format_level_label


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0, "$0"),
        (999.4, "$999"),
        (999.6, "$1.0K"),
        (1_500, "$1.5K"),
        (2_500_000, "$2.5M"),
        (999_600, "$1.0M"),
        (123_456_789, "$123M"),
        (1.2e9, "$1.2B"),
        (3.4e12, "$3.4T"),
        (-1_500, "-$1.5K"),
        (float("nan"), MISSING),
        (None, MISSING),
    ],
)
def test_one_usd_style(usd: float | None, text: str) -> None:
    assert format_usd(usd) == text


@pytest.mark.parametrize(
    ("price", "text"),
    [(94_812.345, "94,812.35"), (245.321, "245.32"), (3.41234, "3.4123"), (0.0123456, "0.012346")],
)
def test_price_decimals_follow_the_price_size(price: float, text: str) -> None:
    assert format_price(price) == text


def test_percentages_are_signed() -> None:
    assert (format_pct(0.5), format_pct(-2.345), format_pct(float("inf"))) == ("+0.50 %", "-2.35 %", MISSING)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_formatters_never_raise_and_never_print_nan(x: float) -> None:
    for text in (format_usd(x), format_price(x), format_pct(x)):
        assert "nan" not in text.lower() and "inf" not in text.lower()
    assert 0 <= price_decimals(x) <= 6
    if math.isfinite(x):
        assert format_usd(x).lstrip("-").startswith("$")


_EDGES = [
    0.0,
    -0.0,
    0.5,
    99.95,
    999.5,
    999.4999,
    99_949.99,
    99_950.0,
    99_999.9,
    999_500.0,
    999_499.99,
    1.05e6,
    1.25e6,
]


@hyp_settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-1e16, max_value=1e16),
            st.sampled_from(_EDGES).flatmap(
                lambda e: st.sampled_from([e, -e, np.nextafter(e, 0), np.nextafter(e, 2e16)])
            ),
            st.integers(0, 10**15).map(float),
        ),
        max_size=60,
    )
)
def test_format_usd_many_writes_what_format_usd_writes(values: list[float]) -> None:
    from liq._format import format_usd_many

    assert format_usd_many(values).tolist() == [format_usd(v) for v in values]


def test_format_usd_many_on_many_values_and_every_half_way_tenth() -> None:
    """Log-spread values of every size, and every half-way tenth and unit (ties, where rounding could differ)."""
    from liq._format import format_usd_many

    rng = np.random.default_rng(7)
    spread = 10.0 ** rng.uniform(-3, 17, 50_000) * rng.choice([-1.0, 1.0], 50_000)
    halves = np.concatenate([(np.arange(0, 20_000) + 0.5) / 10 * unit for unit in (1.0, 1e3, 1e6, 1e9, 1e12)])
    values = np.concatenate([spread, halves, np.nextafter(halves, 0), np.nextafter(halves, np.inf)])
    assert format_usd_many(values).tolist() == [format_usd(float(v)) for v in values]
