"""The sidebar shared by the pages: market controls, model settings, the share link.

Every widget is drawn from its row in ``ui.settings.SPECS`` (label, bounds, options, help) and seeded from
the canonical settings each run; its ``on_change`` callback checks the new value against the same row
before storing it, so a value out of bounds is clamped (with a note in the sidebar) and never stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import liq
from liq._brackets import bracket_symbols
from liq._sources._common import nearest_symbols
from ui import cache, messages, settings
from ui.settings import SPEC, Settings, Spec

__all__ = ["SidebarResult", "Upload", "render"]

_EDITOR_BASE = "_liq_weights_base"
_EDITOR_VERSION = "_liq_weights_version"
_WEIGHT_PROBLEMS = "_liq_weight_problems"
_NOTES = "_liq_widget_notes"
_SHOW_SHARE = "_liq_show_share"
_LEV_COL, _W_COL = "Leverage (x)", "Weight"
_LIVE_SOURCES = ("auto", "live")
#: Under the live toggle when it cannot run.
LIVE_NEEDS = "Auto-refresh needs live Binance: choose Auto or Live Binance as the source, with no past end."
_MODEL_FIELDS = ("decay_hours", "bins", "significance", "colour_threshold")


@dataclass(frozen=True)
class Upload:
    """Files the user uploaded (bytes), when the source is "Upload CSV"."""

    klines: bytes | None
    klines_name: str
    oi: bytes | None
    oi_name: str


@dataclass(frozen=True)
class SidebarResult:
    """What the page needs from the sidebar: the settings, the model config (or why there is none)."""

    settings: Settings
    config: liq.ModelConfig | None
    config_error: str | None
    upload: Upload | None
    model_slot: DeltaGenerator


# --- one widget per spec row -------------------------------------------------------------------------------
def _note(field: str, problem: str | None) -> None:
    notes = dict(st.session_state.get(_NOTES, {}))
    notes.pop(field, None)
    if problem:
        notes[field] = problem
    st.session_state[_NOTES] = notes


def _on_change(field: str) -> None:
    """``on_change`` callback: check a widget's new value against its row, then store it."""
    spec = SPEC[field]
    s = settings.load()
    checked = settings.check(spec, st.session_state.get(spec.widget_key), getattr(s, field))
    new = settings.follow(spec, replace(s, **{field: checked.value}))
    settings.save(new)
    _note(field, checked.problem)
    if field == "preset" and new.preset != "custom":
        st.session_state[_WEIGHT_PROBLEMS] = []
        _reset_editor(new.weights)


def _draw(spec: Spec, value: Any, **extra: Any) -> None:
    """Draw ``spec``'s widget showing ``value`` (always a checked value, so never out of the widget's range)."""
    st.session_state[spec.widget_key] = value  # seeded every run: Streamlit may forget it on a page switch
    common: dict[str, Any] = {
        "key": spec.widget_key,
        "on_change": _on_change,
        "args": (spec.field,),
        "help": spec.help or None,
        **extra,
    }
    if spec.widget == "selectbox":
        st.selectbox(spec.label, list(spec.options), format_func=spec.options.__getitem__, **common)
    elif spec.widget == "select_slider":
        st.select_slider(spec.label, options=list(spec.options), **common)
    elif spec.widget == "slider":
        st.slider(spec.label, min_value=spec.lo, max_value=spec.hi, step=spec.step, **common)
    elif spec.widget == "number_input":
        low = spec.lo if spec.off is None else spec.off  # "off" sits below the lowest value that is on
        st.number_input(spec.label, min_value=low, max_value=spec.hi, step=spec.step, **common)
    elif spec.widget == "toggle":
        st.toggle(spec.label, **common)
    elif spec.widget == "text_input":
        st.text_input(
            spec.label, max_chars=settings.MAX_PARAM_CHARS, placeholder="2024-12-05T02:00", **common
        )
    else:  # pragma: no cover - a new widget kind needs a branch here
        raise NotImplementedError(spec.widget)


def _pair_picker(s: Settings) -> None:
    spec = SPEC["symbol"]
    symbols, origin = cache.symbol_list(s.source)
    options = list(dict.fromkeys([s.symbol, *symbols]))
    where = (
        "Binance exchange info" if origin == "live" else "the built-in sample (type another to try it live)"
    )
    st.session_state[spec.widget_key] = s.symbol
    st.selectbox(
        spec.label,
        options,
        key=spec.widget_key,
        on_change=_on_change,
        args=(spec.field,),
        accept_new_options=True,
        help=f"{spec.help} The list comes from {where}.",
    )
    _suggest(s.symbol, symbols)


def _suggest(symbol: str, listed: Sequence[str]) -> None:
    """Under the pair box: a pair no list knows, with the nearest real names (from the lists, no request)."""
    known = list(dict.fromkeys([*listed, *bracket_symbols()]))
    if symbol in known:
        return
    near = nearest_symbols(symbol, known)
    hint = f" Did you mean {', '.join(near)}?" if near else " Check the name on Binance (like BTCUSDT)."
    st.warning(
        messages.plain(f"{symbol} is not a Binance USD-M perpetual the app knows of.{hint}"),
        icon=":material/help:",
    )


# --- tier weights editor -----------------------------------------------------------------------------------
def _editor_key() -> str:
    return f"{SPEC['weights'].widget_key}_v{st.session_state.get(_EDITOR_VERSION, 0)}"


def _reset_editor(weights: settings.Weights) -> None:
    st.session_state[_EDITOR_BASE] = [list(p) for p in weights]
    st.session_state[_EDITOR_VERSION] = st.session_state.get(_EDITOR_VERSION, 0) + 1


def _cell(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _edited_rows(edits: dict[str, Any]) -> list[list[Any]]:
    """The editor's base table with its edits, additions and deletions applied."""
    rows: list[list[Any]] = [list(r) for r in st.session_state.get(_EDITOR_BASE, [])]
    for idx, change in (edits.get("edited_rows") or {}).items():
        i = int(idx)
        if 0 <= i < len(rows):
            rows[i] = [change.get(_LEV_COL, rows[i][0]), change.get(_W_COL, rows[i][1])]
    rows += [[a.get(_LEV_COL), a.get(_W_COL)] for a in edits.get("added_rows") or []]
    deleted = {int(i) for i in (edits.get("deleted_rows") or [])}
    return [r for i, r in enumerate(rows) if i not in deleted]


def _complete_pairs(rows: list[list[Any]]) -> tuple[list[tuple[float, float]], list[str]]:
    pairs: list[tuple[float, float]] = []
    problems: list[str] = []
    for n, (lev, w) in enumerate(rows, start=1):
        lev_f, w_f = _cell(lev), _cell(w)
        if lev_f is None and w_f is None:
            continue
        if lev_f is None or w_f is None:
            problems.append(
                f"Row {n} needs both a leverage and a weight; it is left out until both are filled."
            )
            continue
        pairs.append((lev_f, w_f))
    return pairs, problems


def _on_weights_edit(key: str) -> None:
    """Apply the editor's edits, check them against the weights row, store them, and start a fresh editor."""
    pairs, problems = _complete_pairs(_edited_rows(st.session_state.get(key) or {}))
    s = settings.load()
    if not pairs:
        problems.append("The table is empty: add at least one leverage tier with a positive weight.")
    else:
        try:
            weights, note = settings.check_tiers(pairs)
        except ValueError as err:
            problems.append(f"Tier table: {err}. The previous weights are kept.")
        else:
            problems += [f"Tier table: {note}."] if note else []
            s = settings.follow(SPEC["weights"], replace(s, weights=weights))
            settings.save(s)
    st.session_state[_WEIGHT_PROBLEMS] = problems
    _reset_editor(s.weights)


def _weights_editor(s: Settings) -> None:
    if _EDITOR_BASE not in st.session_state:
        _reset_editor(s.weights)
    key = _editor_key()
    base = pd.DataFrame(st.session_state[_EDITOR_BASE], columns=[_LEV_COL, _W_COL]).astype(float)
    spec = SPEC["weights"]
    st.caption(f"{spec.label} ({spec.help}; at most {settings.MAX_TIERS} tiers):")
    st.data_editor(
        base,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        on_change=_on_weights_edit,
        args=(key,),
        column_config={
            _LEV_COL: st.column_config.NumberColumn(
                _LEV_COL,
                help=f"Leverage of a group of new positions (above {spec.lo:g}x, at most {spec.hi:g}x)",
                format="%gx",
                width="small",
            ),
            _W_COL: st.column_config.NumberColumn(
                _W_COL,
                help="Relative share of new positions at this leverage (0 or more)",
                format="%.3f",
                width="small",
            ),
        },
    )


# --- the sidebar -------------------------------------------------------------------------------------------
def _notes() -> None:
    """The opening link's problems and the last widget corrections, as plain text."""
    for note in settings.link_problems():
        st.warning(messages.plain(note), icon=":material/link_off:")
    for note in dict(st.session_state.get(_NOTES, {})).values():
        st.warning(messages.plain(note), icon=":material/warning:")


def _upload() -> Upload:
    k = st.file_uploader("Klines CSV", type=["csv", "gz"], key="sb_up_klines")
    o = st.file_uploader("Open interest CSV (optional)", type=["csv", "gz"], key="sb_up_oi")
    return Upload(
        klines=k.getvalue() if k is not None else None,
        klines_name=k.name if k is not None else "",
        oi=o.getvalue() if o is not None else None,
        oi_name=o.name if o is not None else "",
    )


def _market(s: Settings) -> tuple[Settings, Upload | None]:
    st.markdown("**Market**")
    _pair_picker(s)
    for field in ("interval", "range_key", "end", "source"):
        spec = SPEC[field]
        if field == "interval":  # only the intervals that suit the range (the range's row says which)
            spec = replace(spec, options={k: k for k in settings.intervals_for(s.range_key)})
        _draw(spec, getattr(s, field))
    upload = _upload() if s.source == "upload" else None
    live_ok = s.source in _LIVE_SOURCES and not s.end
    # shown off when it cannot run, so the toggle, the link and the page agree
    _draw(SPEC["live"], s.live and live_ok, disabled=not live_ok)
    if not live_ok:
        st.caption(LIVE_NEEDS)
    return replace(s, live=s.live and live_ok), upload


def _config(s: Settings) -> tuple[liq.ModelConfig | None, str | None]:
    try:
        config = s.model_config()
    except liq.LiqError as err:
        st.error(messages.plain(str(err)), icon=":material/error:")
        return None, str(err)
    shares = ", ".join(f"{lev:g}x {w * 100:.0f} %" for lev, w in config.weights().items())
    st.caption(f"Weights used: {shares}.")
    return config, None


def _model(s: Settings) -> tuple[liq.ModelConfig | None, str | None, DeltaGenerator]:
    with st.expander("Model settings", icon=":material/tune:"):
        _draw(SPEC["preset"], s.preset)
        _weights_editor(s)
        for field in _MODEL_FIELDS:
            _draw(SPEC[field], getattr(s, field))
        config, error = _config(s)
        for problem in st.session_state.get(_WEIGHT_PROBLEMS, []):
            st.warning(messages.plain(problem), icon=":material/warning:")
        return config, error, st.empty()


def render(*, show_market: bool = True) -> SidebarResult:
    """Draw the sidebar and return the settings (also mirrored into the URL)."""
    s = settings.load()
    upload: Upload | None = None
    with st.sidebar:
        _notes()
        if show_market:
            s, upload = _market(s)
        config, config_error, model_slot = _model(s)
        settings.save(s)
        settings.sync_query_params(s)
        _share_button(s)
    return SidebarResult(s, config, config_error, upload, model_slot)


def _show_share() -> None:
    st.session_state[_SHOW_SHARE] = True


def _share_button(s: Settings) -> None:
    # A callback (not the button's return value) so the request survives any rerun of this run.
    st.button(
        "Share this view", icon=":material/link:", key="sb_share", width="stretch", on_click=_show_share
    )
    if st.session_state.get(_SHOW_SHARE):
        st.caption("Copy this link: it opens this page with every setting above.")
        st.code(settings.share_url(s), language=None, wrap_lines=True)
