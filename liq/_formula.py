"""Binance isolated-margin liquidation price for linear (USDⓈ-M) contracts."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._errors import DataValidationError

__all__ = ["liquidation_price"]

ArrayLike = npt.ArrayLike


def _side_sign(side: Any) -> npt.NDArray[np.float64]:
    """Map ``"long"``/``"short"`` (scalar or array) to +1 / -1, with a fix-it message otherwise."""
    arr = np.asarray(side)
    if arr.dtype.kind not in "UO":
        raise DataValidationError(f'side must be "long" or "short" (got {side!r}).')
    low = np.char.lower(arr.astype(str))
    is_long = low == "long"
    is_short = low == "short"
    if not np.all(is_long | is_short):
        bad = np.unique(arr[~(is_long | is_short)])[:3]
        raise DataValidationError(f'side must be "long" or "short"; got {", ".join(map(repr, bad))}.')
    return np.where(is_long, 1.0, -1.0)


def liquidation_price(
    entry_price: ArrayLike,
    leverage: ArrayLike,
    side: Any,
    mmr: ArrayLike,
    maint_amount_usd: ArrayLike = 0.0,
    quantity: ArrayLike | None = None,
) -> Any:
    """Liquidation price of an isolated-margin position on a linear (USDⓈ-M) Binance contract.

    The position's margin is ``entry × quantity / leverage``; it is liquidated when the mark price reaches the
    price at which wallet balance plus unrealised PnL equals the maintenance margin
    ``mark × quantity × mmr − maint_amount``. Solving for the price gives

    * long:  ``(E·(1 − 1/L) − cum/q) / (1 − m)``
    * short: ``(E·(1 + 1/L) + cum/q) / (1 + m)``

    with ``E`` the entry price, ``L`` the leverage, ``m`` the maintenance-margin rate, ``cum`` the
    maintenance amount of the bracket (USD) and ``q`` the quantity in the base asset. With ``cum = 0`` the
    quantity drops out. Fees and funding are ignored.

    Parameters
    ----------
    entry_price : float or array_like
        Entry price in quote currency (USDT). Must be positive.
    leverage : float or array_like
        Initial leverage, ``> 1``.
    side : {"long", "short"} or array_like of these
        Position side.
    mmr : float or array_like
        Maintenance-margin rate as a fraction (0.004 = 0.40 %), ``0 <= mmr < 1``.
    maint_amount_usd : float or array_like, default 0.0
        Maintenance amount ("cum") of the position's bracket, in USD.
    quantity : float or array_like, optional
        Position size in the base asset; required when ``maint_amount_usd`` is non-zero.

    Returns
    -------
    float or ndarray
        Liquidation price, broadcast over the inputs. A scalar when every input is a scalar.

    Raises
    ------
    DataValidationError
        On a non-positive price, leverage ``<= 1``, an ``mmr`` outside ``[0, 1)``, an unknown side, or a
        maintenance amount without a quantity.

    Examples
    --------
    A 100x BTC long at 100,000 with a 0.40 % maintenance rate liquidates at about 99,397.59 (not 99,000):

    >>> round(liquidation_price(100_000, 100, "long", 0.004), 2)
    99397.59
    >>> round(liquidation_price(100_000, 100, "short", 0.004), 2)
    100597.61

    Arrays broadcast, so one call prices every leverage tier at once:

    >>> liquidation_price(100_000, [10, 25, 50], "long", 0.004).round(1)
    array([90361.4, 96385.5, 98393.6])
    """
    e = np.asarray(entry_price, dtype=np.float64)
    lev = np.asarray(leverage, dtype=np.float64)
    m = np.asarray(mmr, dtype=np.float64)
    cum = np.asarray(maint_amount_usd, dtype=np.float64)
    sign = _side_sign(side)
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise DataValidationError("entry_price must be positive and finite.")
    if np.any(~np.isfinite(lev)) or np.any(lev <= 1):
        raise DataValidationError("leverage must be greater than 1 (for example 10 for 10x).")
    if np.any(~np.isfinite(m)) or np.any(m < 0) or np.any(m >= 1):
        raise DataValidationError("mmr is a fraction in [0, 1): 0.004 means 0.40 %.")
    if quantity is None:
        if np.any(cum != 0):
            raise DataValidationError("maint_amount_usd is non-zero, so pass the position quantity too.")
        cum_per_q = np.zeros_like(cum)
    else:
        q = np.asarray(quantity, dtype=np.float64)
        if np.any(~np.isfinite(q)) or np.any(q <= 0):
            raise DataValidationError("quantity must be positive (base-asset units, e.g. BTC).")
        cum_per_q = cum / q
    out = check_positive_prices(unchecked_liquidation_price(e, lev, sign, m, cum_per_q))
    if out.ndim == 0:
        return float(out)
    return out


def unchecked_liquidation_price(
    entry: ArrayLike, leverage: ArrayLike, sign: ArrayLike, mmr: ArrayLike, cum_per_q: ArrayLike
) -> npt.NDArray[np.float64]:
    """The formula of :func:`liquidation_price` without its input checks, for callers whose inputs are valid.

    ``sign`` is +1 for a long and -1 for a short and ``cum_per_q`` the maintenance amount divided by the
    quantity. The engine prices every (candle, tier) with the same formula computed in place
    (:func:`unchecked_liquidation_price_into`) from validated candles and brackets, then checks the result
    with :func:`check_positive_prices`, as :func:`liquidation_price` does.

    Examples
    --------
    >>> round(float(unchecked_liquidation_price(100_000.0, 100.0, 1.0, 0.004, 0.0)), 2)
    99397.59
    """
    e, lev, s, m, c = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (entry, leverage, sign, mmr, cum_per_q))
    )
    return unchecked_liquidation_price_into(e, lev, s, m, s * c, out=np.empty(e.shape))


def unchecked_liquidation_price_into(
    entry: npt.NDArray[np.float64],
    leverage: float | npt.NDArray[np.float64],
    sign: float | npt.NDArray[np.float64],
    mmr: float | npt.NDArray[np.float64],
    signed_cum_per_q: npt.NDArray[np.float64] | None,
    out: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """The liquidation-price formula, computed in ``out`` (three passes, no temporaries of the entries' size):
    the one place it is written, for :func:`unchecked_liquidation_price` and the engine (one leverage and side
    for many entries at a time).

    ``signed_cum_per_q`` is ``sign × cum_per_q``, or None when the maintenance amount is 0 (subtracting ±0.0
    changes no price).

    Examples
    --------
    >>> out = np.empty(2)
    >>> unchecked_liquidation_price_into(np.array([100_000.0, 50_000.0]), 100.0, 1.0, 0.004, None, out).round(2).tolist()
    [99397.59, 49698.8]
    """
    np.multiply(entry, 1.0 - sign / leverage, out=out)
    if signed_cum_per_q is not None:
        out -= signed_cum_per_q
    out /= 1.0 - sign * mmr
    return out


def check_positive_prices(price: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``price`` itself, after checking that every liquidation price is above zero (fix-it message otherwise)."""
    if np.any(price <= 0):
        raise DataValidationError(
            "The maintenance amount is too large for this position: its liquidation price would be at or below "
            "zero. Check maint_amount_usd (the bracket's cum) and quantity."
        )
    return price
