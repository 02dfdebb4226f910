"""The sidebar shared by the market pages: pair, interval, range, source, live refresh, model settings, share.

Widgets are seeded from the canonical settings in ``ui.state`` and write back to them; the URL is rewritten
from them after every run, so a page switch or a shared link reproduces the view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import liq
from ui import cache, state
from ui.state import BIN_CHOICES, INTERVALS, PRESETS, RANGES, SOURCES, Settings

__all__ = ["SidebarResult", "Upload", "render"]

_EDITOR_BASE = "_liq_weights_base"
_EDITOR_VERSION = "_liq_weights_version"
_WEIGHT_PROBLEMS = "_liq_weight_problems"
_LEV_COL, _W_COL = "Leverage (x)", "Weight"


@dataclass(frozen=True)
class Upload:
    """Files the user uploaded (bytes), when the source is "Upload CSV"."""

    klines: bytes | None
    klines_name: str
    oi: bytes | None
    oi_name: str


@dataclass
class SidebarResult:
    settings: Settings
    config: liq.ModelConfig | None
    config_error: str | None
    weight_problems: list[str]
    upload: Upload | None
    model_slot: DeltaGenerator


def _seed(key: str, value: Any) -> None:
    """Give a widget its value from the canonical settings, every run, before the widget is drawn.

    Streamlit may forget (or reset to its default) a widget's value on a page switch; seeding each run from
    the canonical copy avoids that. User changes reach the canonical copy first through :func:`_copy`,
    which runs as the widget's ``on_change`` callback, before the script reruns.
    """
    st.session_state[key] = value


_CONVERT: dict[str, Any] = {
    "symbol": lambda v: str(v or "").strip().upper() or state.DEFAULTS.symbol,
    "interval": str,
    "range_key": str,
    "source": str,
    "live": bool,
    "decay_hours": float,
    "bins": int,
    "significance": float,
    "colour_threshold": float,
}


def _copy(key: str, field: str) -> None:
    """``on_change`` callback: copy a widget's new value into the canonical settings."""
    value = _CONVERT[field](st.session_state.get(key))
    state.save(replace(state.load(), **{field: value}))


# --- tier weights editor ------------------------------------------------------------------------------------
def _editor_key() -> str:
    return f"sb_weights_v{st.session_state.get(_EDITOR_VERSION, 0)}"


def _reset_editor(weights: tuple[tuple[float, float], ...]) -> None:
    st.session_state[_EDITOR_BASE] = [list(p) for p in weights]
    st.session_state[_EDITOR_VERSION] = st.session_state.get(_EDITOR_VERSION, 0) + 1


_preset_of = state.preset_of


def _on_preset() -> None:
    choice = st.session_state["sb_preset"]
    s = state.load()
    if choice == "custom":
        state.save(replace(s, preset="custom"))
        return
    weights = state._preset_weights(choice)
    state.save(replace(s, preset=choice, weights=weights))
    st.session_state[_WEIGHT_PROBLEMS] = []
    _reset_editor(weights)


def _cell(value: Any) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _on_weights_edit(key: str) -> None:
    """Apply the editor's edits to the base table, store the result, and start a fresh editor."""
    edits = st.session_state.get(key) or {}
    rows: list[list[Any]] = [list(r) for r in st.session_state.get(_EDITOR_BASE, [])]
    for idx, change in (edits.get("edited_rows") or {}).items():
        i = int(idx)
        if 0 <= i < len(rows):
            if _LEV_COL in change:
                rows[i][0] = change[_LEV_COL]
            if _W_COL in change:
                rows[i][1] = change[_W_COL]
    for added in edits.get("added_rows") or []:
        rows.append([added.get(_LEV_COL), added.get(_W_COL)])
    deleted = {int(i) for i in (edits.get("deleted_rows") or [])}
    rows = [r for i, r in enumerate(rows) if i not in deleted]

    problems: list[str] = []
    weights: list[tuple[float, float]] = []
    for n, (lev, w) in enumerate(rows, start=1):
        lev_f, w_f = _cell(lev), _cell(w)
        if lev_f is None and w_f is None:
            continue
        if lev_f is None or w_f is None:
            problems.append(
                f"Row {n} needs both a leverage and a weight; it is left out until both are filled."
            )
            continue
        weights.append((lev_f, w_f))
    s = state.load()
    if weights:
        new = tuple(weights)
        state.save(replace(s, weights=new, preset=_preset_of(new)))
        st.session_state["sb_preset"] = _preset_of(new)
    else:
        problems.append("The table is empty: add at least one leverage tier with a positive weight.")
    st.session_state[_WEIGHT_PROBLEMS] = problems
    _reset_editor(state.load().weights)


def _weights_editor(s: Settings) -> None:
    if _EDITOR_BASE not in st.session_state:
        _reset_editor(s.weights)
    key = _editor_key()
    base = pd.DataFrame(st.session_state[_EDITOR_BASE], columns=[_LEV_COL, _W_COL]).astype(float)
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
                help="Leverage of a group of new positions (above 1x, at most 125x)",
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


# --- the sidebar --------------------------------------------------------------------------------------------
def _symbol_picker(s: Settings) -> str:
    symbols, origin = cache.symbol_list(s.source)
    options = list(symbols)
    if s.symbol not in options:
        options.insert(0, s.symbol)
    _seed("sb_symbol", s.symbol)
    if st.session_state["sb_symbol"] not in options:
        options.insert(0, st.session_state["sb_symbol"])
    where = (
        "Binance exchange info" if origin == "live" else "the built-in sample (type another to try it live)"
    )
    value = st.selectbox(
        "Pair",
        options,
        key="sb_symbol",
        on_change=_copy,
        args=("sb_symbol", "symbol"),
        accept_new_options=True,
        help=f"Binance USD-M perpetual. Type to search; the list comes from {where}.",
    )
    return str(value or s.symbol).strip().upper()


def render(*, show_market: bool = True) -> SidebarResult:
    """Draw the sidebar and return the settings (also mirrored into the URL)."""
    s = state.load()
    upload: Upload | None = None
    with st.sidebar:
        for note in state.link_problems():
            st.warning(note, icon=":material/link_off:")
        if show_market:
            st.markdown("**Market**")
            symbol = _symbol_picker(s)
            _seed("sb_interval", s.interval)
            interval = st.selectbox(
                "Interval",
                list(INTERVALS),
                key="sb_interval",
                on_change=_copy,
                args=("sb_interval", "interval"),
            )
            _seed("sb_range", s.range_key)
            range_key = st.selectbox(
                "Range",
                list(RANGES),
                key="sb_range",
                on_change=_copy,
                args=("sb_range", "range_key"),
                help="How far back the model looks.",
            )
            _seed("sb_source", s.source)
            source = st.selectbox(
                "Data source",
                list(SOURCES),
                format_func=SOURCES.__getitem__,
                key="sb_source",
                on_change=_copy,
                args=("sb_source", "source"),
                help="Auto tries live Binance, then Binance's public daily archive, then the built-in sample, "
                "and tells you which one it used.",
            )
            if source == "upload":
                k = st.file_uploader("Klines CSV", type=["csv", "gz"], key="sb_up_klines")
                o = st.file_uploader("Open interest CSV (optional)", type=["csv", "gz"], key="sb_up_oi")
                upload = Upload(
                    klines=k.getvalue() if k is not None else None,
                    klines_name=k.name if k is not None else "",
                    oi=o.getvalue() if o is not None else None,
                    oi_name=o.name if o is not None else "",
                )
            _seed("sb_live", s.live)
            live = st.toggle(
                f"Live auto-refresh (every {state.LIVE_REFRESH_SECONDS} s)",
                key="sb_live",
                on_change=_copy,
                args=("sb_live", "live"),
                disabled=source not in ("auto", "live"),
                help="Fetches only the newest candles from live Binance and updates the page in place.",
            )
            s = replace(
                s,
                symbol=symbol,
                interval=interval,
                range_key=range_key,
                source=source,
                live=bool(live) and source in ("auto", "live"),
            )

        with st.expander("Model settings", icon=":material/tune:"):
            _seed("sb_preset", s.preset)
            st.selectbox(
                "Leverage preset",
                list(PRESETS),
                format_func=PRESETS.__getitem__,
                key="sb_preset",
                on_change=_on_preset,
                help=" ".join(
                    f"{name}: {', '.join(f'{lev:g}x' for lev in sorted(liq.LEVERAGE_PRESETS[name]))}."
                    for name in liq.LEVERAGE_PRESETS
                )
                + " Custom: edit the table for your own mix.",
            )
            st.caption("Tier weights (share of new positions per leverage; renormalised to 100 %):")
            _weights_editor(s)
            problems = list(st.session_state.get(_WEIGHT_PROBLEMS, []))
            config_error: str | None = None
            config: liq.ModelConfig | None = None
            _seed("sb_decay", float(s.decay_hours))
            decay = st.number_input(
                "Position decay half-life (hours, 0 = off)",
                min_value=0.0,
                max_value=720.0,
                step=1.0,
                key="sb_decay",
                on_change=_copy,
                args=("sb_decay", "decay_hours"),
                help="Traders also close positions themselves. With a half-life, the model fades old positions "
                "by half every so many hours.",
            )
            _seed("sb_bins", int(s.bins))
            bins = st.select_slider(
                "Price resolution (bins)",
                options=list(BIN_CHOICES),
                key="sb_bins",
                on_change=_copy,
                args=("sb_bins", "bins"),
                help="How finely the price axis is cut. More bins: sharper levels, more noise.",
            )
            _seed("sb_sig", float(s.significance))
            sig = st.slider(
                "Significance threshold",
                min_value=0.05,
                max_value=0.90,
                step=0.05,
                key="sb_sig",
                on_change=_copy,
                args=("sb_sig", "significance"),
                help="A price bin counts towards a level when its estimated USD is at least this share of the "
                "biggest bin on its side.",
            )
            _seed("sb_thr", float(s.colour_threshold))
            thr = st.slider(
                "Colour threshold",
                min_value=0.0,
                max_value=0.90,
                step=0.05,
                key="sb_thr",
                on_change=_copy,
                args=("sb_thr", "colour_threshold"),
                help="Hide heatmap cells weaker than this share of the strongest cell (declutters the picture).",
            )
            s = replace(
                s,
                decay_hours=float(decay),
                bins=int(bins),
                significance=float(sig),
                colour_threshold=float(thr),
            )
            try:
                config = s.model_config()
                shares = ", ".join(f"{lev:g}x {w * 100:.0f} %" for lev, w in config.weights().items())
                st.caption(f"Weights used: {shares}.")
            except liq.LiqError as err:
                config_error = str(err)
                st.error(config_error, icon=":material/error:")
            for p in problems:
                st.warning(p, icon=":material/warning:")
            model_slot = st.empty()

        state.save(s)
        state.sync_query_params(s)
        _share_button(s)
    return SidebarResult(
        settings=s,
        config=config,
        config_error=config_error,
        weight_problems=problems,
        upload=upload,
        model_slot=model_slot,
    )


def _show_share() -> None:
    st.session_state["_liq_show_share"] = True


def _share_button(s: Settings) -> None:
    # A callback (not the button's return value) so the request survives any rerun of this run.
    st.button(
        "Share this view", icon=":material/link:", key="sb_share", width="stretch", on_click=_show_share
    )
    if st.session_state.get("_liq_show_share"):
        url = state.share_url(s)
        st.caption("Copy this link: it opens this page with every setting above.")
        st.code(url, language=None, wrap_lines=True)
