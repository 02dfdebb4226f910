"""Rank statistics for the model check, vectorised over rows (SciPy is not a dependency).

Every function takes 2-D arrays whose rows are independent series (bootstrap replicates), so thousands of
correlations cost a few numpy passes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._errors import DataValidationError

__all__ = [
    "RankedRows",
    "bootstrap_ci",
    "partial_rows",
    "partial_spearman",
    "rankdata",
    "resampled_ranks",
    "spearman",
    "spearman_rows",
]

F64 = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------------------------------
# rank statistics (vectorised over rows)
# ----------------------------------------------------------------------------------------------------
def _rank_rows(a: F64) -> F64:
    """Average-tie ranks (1..n) of every row of a 2-D array, without a Python loop over rows."""
    rows, n = a.shape
    if n == 0:
        return a.astype(np.float64)
    # Codes that order like the values (ties equal), then offset each row into its own block of keys.
    _, codes = np.unique(a, return_inverse=True)
    keys = (
        codes.reshape(rows, n).astype(np.int64)
        + (np.arange(rows, dtype=np.int64) * (codes.max() + 1))[:, None]
    )
    flat = np.sort(keys, axis=None)
    base = (np.arange(rows, dtype=np.int64) * n)[:, None]
    below = np.searchsorted(flat, keys, side="left") - base
    upto = np.searchsorted(flat, keys, side="right") - base
    return (below + upto + 1) / 2.0


def resampled_ranks(values: F64, idx: npt.NDArray[np.int64]) -> F64:
    """The average-tie ranks of every resample ``values[idx[b]]``: the same numbers as ``_rank_rows(values[idx])``.

    A resample only repeats the base values, so its ranks follow from how often it draws each distinct value:
    a value drawn ``c`` times with ``k`` drawn values below it ranks ``k + (c + 1) / 2``. That is one count,
    one cumulative sum and one gather per replicate, and no sort of the (replicates × n) values.

    Examples
    --------
    >>> v = np.array([3.0, 1.0, 2.0, 2.0])
    >>> resampled_ranks(v, np.array([[0, 1, 2, 3], [1, 1, 0, 2]])).tolist()
    [[4.0, 1.0, 2.5, 2.5], [1.5, 1.5, 4.0, 3.0]]
    """
    rows, n = idx.shape
    if n == 0:
        return np.zeros((rows, 0))
    distinct, code = np.unique(values, return_inverse=True)
    u = len(distinct)
    drawn = code.ravel()[idx]
    counts = np.bincount((drawn + (np.arange(rows) * u)[:, None]).ravel(), minlength=rows * u).reshape(
        rows, u
    )
    rank_of = (np.cumsum(counts, axis=1) - counts) + (counts + 1) / 2.0
    return np.take_along_axis(rank_of, drawn, axis=1)


class RankedRows:
    """Ranks of model (``x``), recorded (``y``) and baseline (``z``) rows, each computed once and shared by the
    Spearman, baseline and partial correlations."""

    def __init__(self, rx: F64, ry: F64, rz: F64) -> None:
        self.rx, self.ry, self.rz = rx, ry, rz

    @classmethod
    def resampled(cls, x: F64, y: F64, z: F64, idx: npt.NDArray[np.int64]) -> RankedRows:
        """The ranks of the bootstrap replicates ``x[idx]``, ``y[idx]``, ``z[idx]`` (rows of ``idx``)."""
        return cls(resampled_ranks(x, idx), resampled_ranks(y, idx), resampled_ranks(z, idx))

    @classmethod
    def of(cls, x: F64, y: F64, z: F64) -> RankedRows:
        """The ranks of the rows of ``x``, ``y``, ``z`` (2-D, one series per row)."""
        return cls(_rank_rows(x), _rank_rows(y), _rank_rows(z))

    def spearman_model(self) -> F64:
        return _pearson_rows(self.rx, self.ry)

    def spearman_baseline(self) -> F64:
        return _pearson_rows(self.rz, self.ry)

    def partial(self) -> F64:
        return _pearson_rows(_residual_rows(self.rx, self.rz), _residual_rows(self.ry, self.rz))


def rankdata(values: npt.ArrayLike) -> F64:
    """Ranks 1..n of ``values`` with ties given their average rank (like ``scipy.stats.rankdata``).

    Examples
    --------
    >>> rankdata([10.0, 30.0, 20.0, 20.0]).tolist()
    [1.0, 4.0, 2.5, 2.5]
    """
    arr = np.asarray(values, dtype=np.float64)
    return _rank_rows(arr.reshape(1, -1))[0]


def _pearson_rows(x: F64, y: F64) -> F64:
    """Row-wise Pearson correlation; NaN where either row is (numerically) constant."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    syy = np.einsum("ij,ij->i", yc, yc)
    sxy = np.einsum("ij,ij->i", xc, yc)
    ok = (sxx > 0) & (syy > 0)
    out = np.full(x.shape[0], np.nan)
    out[ok] = sxy[ok] / np.sqrt(sxx[ok] * syy[ok])
    return np.clip(out, -1.0, 1.0)


def _residual_rows(y: F64, z: F64) -> F64:
    """Residuals of the least-squares fit ``y ~ a + b·z``, row-wise; exact zeros where ``y`` is explained."""
    yc = y - y.mean(axis=1, keepdims=True)
    zc = z - z.mean(axis=1, keepdims=True)
    szz = np.einsum("ij,ij->i", zc, zc)
    beta = np.divide(np.einsum("ij,ij->i", yc, zc), szz, out=np.zeros_like(szz), where=szz > 0)
    res = yc - beta[:, None] * zc
    # Floating-point leftovers of a perfect fit would give a meaningless correlation: zero them.
    syy = np.einsum("ij,ij->i", yc, yc)
    tiny = np.einsum("ij,ij->i", res, res) <= 1e-10 * np.maximum(syy, 1e-300)
    res[tiny] = 0.0
    return res


def spearman_rows(x: F64, y: F64) -> F64:
    return _pearson_rows(_rank_rows(x), _rank_rows(y))


def partial_rows(x: F64, y: F64, z: F64) -> F64:
    rz = _rank_rows(z)
    return _pearson_rows(_residual_rows(_rank_rows(x), rz), _residual_rows(_rank_rows(y), rz))


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either series is constant.

    Examples
    --------
    >>> spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    0.8
    >>> spearman([1, 2, 3], [0, 0, 0])
    nan
    """
    xa, ya = _pair(x, y)
    return float(round(spearman_rows(xa, ya)[0], 12))


def partial_spearman(x: npt.ArrayLike, y: npt.ArrayLike, control: npt.ArrayLike) -> float:
    """Partial Spearman correlation of ``x`` and ``y`` controlling for ``control``.

    The ranks of ``x`` and of ``y`` are each regressed (least squares, with intercept) on the ranks of
    ``control``; the result is the Pearson correlation of the two residual series. NaN when a residual
    series is constant (e.g. ``x`` is a monotone function of ``control``) or an input is constant.

    Examples
    --------
    >>> round(partial_spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], [1, 3, 2, 5, 4]), 4)
    0.9784
    """
    xa, ya = _pair(x, y)
    za, _ = _pair(control, x)
    return float(round(partial_rows(xa, ya, za)[0], 12))


def _pair(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[F64, F64]:
    xa = np.asarray(x, dtype=np.float64).reshape(1, -1)
    ya = np.asarray(y, dtype=np.float64).reshape(1, -1)
    if xa.shape != ya.shape:
        raise DataValidationError(f"Series of different lengths ({xa.shape[1]} and {ya.shape[1]}).")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise DataValidationError("Rank correlations need finite numbers; drop NaN/inf first.")
    return xa, ya


def bootstrap_ci(replicates: F64) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size < max(10, replicates.size // 2):
        return (np.nan, np.nan)
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return (float(lo), float(hi))
