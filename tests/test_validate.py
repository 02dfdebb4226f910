"""The engine's boundary checks (validate_candles / validate_open_interest) on hostile values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liq._errors import DataValidationError
from liq._sources.validate import validate_candles, validate_open_interest


def candles(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open_time": pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC"),
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.5,
            "volume": 3.0,
        }
    )


@pytest.mark.parametrize("price", [1e300, 1.5e9, np.inf])
def test_prices_must_be_finite_and_sane(price: float) -> None:
    df = candles()
    df.loc[3, ["high", "close"]] = price
    with pytest.raises(DataValidationError, match=r"'high' is .* at row 3 .*no higher than 1,000,000,000"):
        validate_candles(df)


def test_a_price_at_the_bound_is_accepted() -> None:
    df = candles()
    df.loc[:, ["open", "high", "low", "close"]] = 1e9
    assert validate_candles(df)["high"].max() == 1e9


def test_infinite_volume_is_named_as_such() -> None:
    df = candles()
    df.loc[5, "volume"] = np.inf
    with pytest.raises(DataValidationError, match=r"'volume' is inf at row 5 .*finite number"):
        validate_candles(df)


def test_nan_is_still_called_missing() -> None:
    df = candles()
    df.loc[2, "close"] = np.nan
    with pytest.raises(DataValidationError, match=r"'close' is missing \(NaN\) at row 2"):
        validate_candles(df)


@pytest.mark.parametrize("when", ["3000-01-01", "2262-06-01", "1970-01-01"])
def test_dates_outside_the_supported_years_are_refused(when: str) -> None:
    df = candles().astype({"open_time": object})
    df["open_time"] = [str(t) for t in candles()["open_time"]]
    df.loc[0, "open_time"] = f"{when} 00:00:00+00:00"
    with pytest.raises(
        DataValidationError, match=r"'open_time' at row 0 is .*, outside 2017-01-01 to 2100-01-01"
    ):
        validate_candles(df)


def test_unreadable_dates_get_a_plain_message() -> None:
    df = candles().astype({"open_time": object})
    df.loc[4, "open_time"] = "yesterday"
    with pytest.raises(DataValidationError) as info:
        validate_candles(df)
    assert str(info.value) == (
        "'open_time' at row 4 is 'yesterday', which is not a date. Use ISO times such as 2024-12-01T00:00:00Z."
    )


def test_open_interest_must_be_sane() -> None:
    oi = pd.DataFrame(
        {
            "time": pd.date_range("2024-12-01", periods=3, freq="5min", tz="UTC"),
            "open_interest_usd": [1e9, 1e300, 1e9],
        }
    )
    with pytest.raises(DataValidationError, match=r"a number from 0 to 1e\+13 \(USD\); row 1 has 1e\+300"):
        validate_open_interest(oi)
