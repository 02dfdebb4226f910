"""The validation's fast path for times already in UTC gives what the general parse gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liq._errors import DataValidationError
from liq._sources.validate import _to_utc, _utc_in_range, validate_candles


def _candles(times: pd.Series) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame(
        {
            "open_time": times,
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": 100.5,
            "volume": np.arange(n) + 1.0,
        }
    )


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_utc_times_of_any_unit_become_the_same_ns_column(unit: str) -> None:
    times = pd.Series(pd.date_range("2024-12-01", periods=12, freq="5min", tz="UTC").as_unit(unit))
    assert _utc_in_range(times)
    got = validate_candles(_candles(times))
    want = validate_candles(_candles(times.dt.strftime("%Y-%m-%dT%H:%M:%SZ")))  # the general parse
    assert str(got["open_time"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(got, want)


def test_fast_path_leaves_other_time_zones_and_naive_times_to_the_general_parse() -> None:
    base = pd.Series(pd.date_range("2024-12-01", periods=3, freq="5min"))
    assert not _utc_in_range(base)
    assert not _utc_in_range(base.dt.tz_localize("Europe/Paris"))
    assert str(_to_utc(base.dt.tz_localize("Europe/Paris"), "t").dtype) == "datetime64[ns, UTC]"


def test_empty_and_out_of_range_utc_times_still_get_their_messages() -> None:
    times = pd.Series(pd.date_range("2024-12-01", periods=12, freq="5min", tz="UTC").as_unit("us"))
    with_nat = times.copy()
    with_nat.iloc[4] = pd.NaT
    assert not _utc_in_range(with_nat)
    with pytest.raises(DataValidationError, match="empty at row 4"):
        validate_candles(_candles(with_nat))
    early = times - pd.Timedelta(days=365 * 9)
    assert not _utc_in_range(early)
    with pytest.raises(DataValidationError, match="outside 2017-01-01 to 2100-01-01"):
        validate_candles(_candles(early))


def test_float_columns_with_another_index_are_read_by_position() -> None:
    times = pd.Series(pd.date_range("2024-12-01", periods=12, freq="5min", tz="UTC"))
    df = _candles(times)
    df.index = np.arange(12)[::-1] * 7
    df.loc[df.index[3], "volume"] = np.nan
    with pytest.raises(DataValidationError, match="'volume' is missing \\(NaN\\) at row 3"):
        validate_candles(df)
    df["volume"] = ["x" if i == 5 else 1.0 for i in range(12)]
    with pytest.raises(DataValidationError, match="'volume' is not a number at row 5"):
        validate_candles(df)
