"""The settings rows (ui/settings.py): every bound from a link, in the decoder and on a real page.

For every setting an AppTest opens the app with the setting's URL value at each bound and one step past it:
at a bound the page renders quietly; past it, the page warns (naming the parameter and the value used
instead) and still renders, never a Streamlit exception; the bad value is never stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import clear_caches
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import settings
from ui.settings import SPECS, Spec

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180
#: Cheap neighbours for every case: one day of hourly candles from the built-in sample.
QUICK = {"src": "sample", "iv": "1h", "range": "1d"}


def _tiers(n: int) -> str:
    return ",".join(f"{2 + k}:1" for k in range(n))


def _cases(spec: Spec) -> list[tuple[str, str, bool]]:
    """(URL value, value expected in the link afterwards, whether a warning is due) at and past each bound."""
    if spec.kind == "number":
        lo, hi, step = float(spec.lo or 0.0), float(spec.hi or 0.0), float(spec.step or 1.0)
        below = spec.off if spec.off is not None else lo
        past_lo = lo - step if spec.off is None else spec.off - step
        cases = [
            (f"{lo:g}", f"{lo:g}", False),
            (f"{hi:g}", f"{hi:g}", False),
            (f"{past_lo:g}", f"{below:g}", True),
            (f"{hi + step:g}", f"{hi:g}", True),
        ]
        if spec.off is not None:  # between "off" and the lowest value that is on
            cases += [
                (f"{spec.off:g}", f"{spec.off:g}", False),
                (f"{(spec.off + lo) / 2:g}", f"{lo:g}", True),
            ]
        return cases
    if spec.kind == "steps":
        opts = list(spec.options)
        return [
            (str(opts[0]), str(opts[0]), False),
            (str(opts[-1]), str(opts[-1]), False),
            (str(2 * opts[0] - opts[1]), str(opts[0]), True),
            (str(2 * opts[-1] - opts[-2]), str(opts[-1]), True),
        ]
    if spec.kind == "choice":  # the intervals are the ones that suit QUICK's range
        opts = list(settings.intervals_for(QUICK["range"]) if spec.field == "interval" else spec.options)
        default = str(spec.default)
        return [(opts[0], opts[0], False), (opts[-1], opts[-1], False), (opts[-1] + "x", default, True)]
    if spec.kind == "toggle":
        return [("0", "0", False), ("1", "1", False), ("2", "0", True)]
    if spec.kind == "symbol":
        return [("ETHUSDT", "ETHUSDT", False), ("B" * 30, "B" * 30, False), ("B" * 31, "BTCUSDT", True)]
    if spec.kind == "symbols":
        most = int(spec.hi or 0)
        full = ",".join(f"P{k:02d}USDT" for k in range(most))
        return [
            ("ETHUSDT,SOLUSDT", "ETHUSDT,SOLUSDT", False),
            (full, full, False),
            (full + ",P99USDT", full, True),
            ("ETHUSDT,<b>x</b>", "ETHUSDT", True),
        ]
    if spec.kind == "when":
        return [
            ("2024-12-05T02:00", "2024-12-05T02:00", False),
            ("2024-12-05", "2024-12-05T00:00", False),
            ("2016-06-01", "2017-01-01T00:00", True),
            ("2999-01-01T00:00", "", True),
            ("yesterday-ish", "", True),
        ]
    assert spec.kind == "weights"
    first12 = _tiers(settings.MAX_TIERS)
    default = settings.encode_weights(settings.DEFAULTS.weights)
    return [
        (first12, first12, False),
        ("125:1,1.5:1", "125:1,1.5:1", False),
        (_tiers(settings.MAX_TIERS + 1), first12, True),
        ("125.5:1", default, True),
        ("1:1", default, True),
    ]


CASES = [
    pytest.param(spec, value, expected, warns, id=f"{spec.key}={value[:24]}")
    for spec in SPECS
    for value, expected, warns in _cases(spec)
]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


def test_every_setting_has_cases() -> None:
    assert {spec.key for spec in SPECS} == set(settings.encode(settings.DEFAULTS))
    assert all(len(_cases(spec)) >= 3 for spec in SPECS)


@pytest.mark.parametrize(("spec", "value", "expected", "warns"), CASES)
def test_link_value_at_and_past_each_bound(spec: Spec, value: str, expected: str, warns: bool) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    params = {**QUICK, spec.key: value}
    if spec.key == "live":
        params["src"] = "auto"  # live refresh is only on with a source that can be live
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [str(w.value) for w in at.warning if f"{spec.key}=" in str(w.value)]
    if warns:
        assert warnings, f"no warning for {spec.key}={value!r}"
        assert "instead" in warnings[0]
    else:
        assert not warnings, warnings
    assert at.query_params[spec.key] == expected  # what is stored and linked is the checked value
    stored = at.session_state["_liq_settings"][spec.field]
    assert settings.to_text(spec, tuple(map(tuple, stored)) if spec.kind == "weights" else stored) == expected


# --- the decoder alone (fast) ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"sig": "0.93"}, "significance", 0.90),
        ({"sig": "0.02"}, "significance", 0.05),
        ({"thr": "0.95"}, "colour_threshold", 0.90),
        ({"bins": "inf"}, "bins", 500),
        ({"bins": "1e400"}, "bins", 500),
        ({"bins": "nan"}, "bins", 500),
        ({"bins": "2000"}, "bins", 1500),
        ({"bins": "301"}, "bins", 300),
        ({"decay": "0.00001"}, "decay_hours", settings.DECAY_MIN_HOURS),
        ({"decay": "-3"}, "decay_hours", 0.0),
        ({"decay": "1e400"}, "decay_hours", 0.0),
        ({"decay": ""}, "decay_hours", 0.0),
        ({"sym": "**BOLD**[x](https://evil.example)"}, "symbol", "BTCUSDT"),
        ({"live": "yes"}, "live", False),
    ],
)
def test_decoder_clamps_or_replaces_with_a_sentence(
    params: dict[str, str], field: str, value: object
) -> None:
    s, problems = settings.decode(params)
    assert (
        getattr(s, field) == pytest.approx(value) if isinstance(value, float) else getattr(s, field) == value
    )
    (key,) = params
    assert len(problems) == 1 and f"{key}=" in problems[0] and "instead" in problems[0]


def test_values_inside_the_bounds_are_kept_exactly() -> None:
    s, problems = settings.decode(
        {"sig": "0.33", "thr": "0.9", "decay": "0.5", "bins": "800", "live": "true"}
    )
    assert problems == []
    assert (s.significance, s.colour_threshold, s.decay_hours, s.bins, s.live) == (0.33, 0.9, 0.5, 800, True)


def test_too_long_values_are_not_read_and_not_echoed_in_full() -> None:
    huge = _tiers(1500)
    assert len(huge) > 9_000
    s, problems = settings.decode({"w": huge, "sym": "X" * 100_000})
    assert s.weights == settings.DEFAULTS.weights and s.symbol == "BTCUSDT"
    assert len(problems) == 2
    for problem in problems:
        assert f"at most {settings.MAX_PARAM_CHARS}" in problem
        assert len(problem) < 400  # the value is cut to MAX_ECHO_CHARS


def test_weights_in_a_link_keep_their_preset_and_a_preset_brings_its_weights() -> None:
    s, problems = settings.decode({"preset": "high"})
    assert problems == [] and s.weights == settings.preset_weights("high")
    s, _ = settings.decode({"preset": "high", "w": "5:1,10:1"})
    assert s.preset == "custom" and s.weights == ((5.0, 1.0), (10.0, 1.0))
    s, problems = settings.decode({"preset": "high", "w": "200:1"})
    assert s.weights == settings.preset_weights("high") and "out of range" in problems[0]


def test_widget_values_are_checked_against_the_same_row() -> None:
    decay = settings.SPEC["decay_hours"]
    checked = settings.check(decay, 0.00001, 5.0)
    assert checked.value == settings.DECAY_MIN_HOURS and f"{settings.DECAY_MIN_HOURS:g} h" in (
        checked.problem or ""
    )
    assert settings.check(decay, 0.0, 5.0) == settings.Checked(0.0)
    sym = settings.SPEC["symbol"]
    bad = settings.check(sym, "**BOLD**[x](https://evil.example)", "ETHUSDT")
    assert bad.value == "ETHUSDT" and bad.problem and "Using ETHUSDT instead" in bad.problem
    assert settings.check(sym, " solusdt ", "ETHUSDT") == settings.Checked("SOLUSDT")


@pytest.mark.parametrize("interval", list(settings.INTERVAL_MINUTES))
def test_the_shortest_decay_is_accepted_by_the_model_on_every_interval(interval: str) -> None:
    s = settings.Settings(interval=interval, decay_hours=settings.DECAY_MIN_HOURS)
    assert s.model_config().decay_half_life_candles is not None  # the model does not refuse it


def test_the_bounds_that_are_model_facts_come_from_the_model() -> None:
    from liq._config import BOUNDS, MAX_TIERS

    assert (settings.MIN_LEVERAGE, settings.MAX_LEVERAGE) == (BOUNDS["leverage"].low, BOUNDS["leverage"].high)
    assert settings.MAX_TIERS == MAX_TIERS
    for field in ("significance", "price_bins"):
        spec = next(
            s for s in settings.SPECS if s.field in (field, "bins" if field == "price_bins" else field)
        )
        values = [spec.lo, spec.hi] if spec.kind == "number" else [min(spec.options), max(spec.options)]
        assert all(BOUNDS[field].contains(float(v)) for v in values), field


def test_a_widget_value_below_its_bound_is_clamped_with_a_note_and_never_stored() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in QUICK.items():
        at.query_params[k] = v
    at.run()
    at.number_input(key="sb_decay").set_value(0.05).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["_liq_settings"]["decay_hours"] == settings.DECAY_MIN_HOURS
    assert at.number_input(key="sb_decay").value == settings.DECAY_MIN_HOURS
    assert at.query_params["decay"] == f"{settings.DECAY_MIN_HOURS:g}"
    assert any("Position decay half-life" in str(w.value) and "instead" in str(w.value) for w in at.warning)
    # a good value afterwards clears the note
    at.number_input(key="sb_decay").set_value(2.0).run()
    assert not any("Position decay half-life" in str(w.value) for w in at.warning)
