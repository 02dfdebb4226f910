"""``liq_chart``: the liquidation heatmap chart, a Streamlit components-v2 element around lightweight-charts 5.

The component is registered once, at import time. Everything it runs in the browser comes from this
repository (``frontend/``): the vendored standalone build of lightweight-charts (it sets
``window.LightweightCharts``) followed by our module (``frontend/liq_chart.js``). Nothing is loaded from a CDN.

>>> from liq_chart import liq_chart  # doctest: +SKIP
>>> clicked = liq_chart(est, height=600, threshold=0.05, key="main")  # doctest: +SKIP
>>> clicked  # doctest: +SKIP
{'time': 1735689600, 'price': 94812.0}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from liq._chart_payload import build_chart_payload

__all__ = ["FRONTEND_DIR", "LIGHTWEIGHT_CHARTS_VERSION", "liq_chart", "payload_to_json"]

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
LIGHTWEIGHT_CHARTS_VERSION = (FRONTEND_DIR / "VERSION").read_text(encoding="utf-8").strip()


def _module_js() -> str:
    vendored = (FRONTEND_DIR / "lightweight-charts.standalone.production.js").read_text(encoding="utf-8")
    ours = (FRONTEND_DIR / "liq_chart.js").read_text(encoding="utf-8")
    # The vendored IIFE assigns window.LightweightCharts; our module reads it right after.
    return f"{vendored}\n;\n{ours}"


_component = st.components.v2.component(
    "liq_chart",
    js=_module_js(),
    css=":host { display: block; width: 100%; }",
)


def _noop() -> None:
    return None


def liq_chart(
    est: Any = None,
    *,
    payload: dict[str, Any] | None = None,
    payload_json: str | None = None,
    extra: dict[str, Any] | None = None,
    height: int = 600,
    key: str | None = None,
    on_click: Callable[[], None] | None = None,
    **payload_options: Any,
) -> dict[str, Any] | None:
    """Draw the chart and return the last point the user clicked.

    Parameters
    ----------
    est
        A :class:`liq.Estimate`. The payload is built from it with :func:`liq.build_chart_payload`
        and ``payload_options`` (``threshold``, ``max_columns``, ``max_rows``, ``max_candles``,
        ``color_max_usd``, ``max_levels``, ...). Pass ``payload=`` or ``payload_json=`` instead to reuse a
        cached payload.
    payload
        A payload from :func:`liq.build_chart_payload` (e.g. cached with ``st.cache_data``).
    payload_json
        The same payload already written as JSON (:func:`payload_to_json`): a cached string costs nothing to
        send again, where a payload dict is written out on every rerun.
    extra
        A few keys laid over the payload in the browser (e.g. ``source_label``), so a cached payload can be
        reused as it is.
    height
        Height of the whole element in CSS pixels (price pane, volume pane, time axis and footer).
    key
        Streamlit key; give one so that zoom and pan survive reruns with new data.
    on_click
        Optional callback run (before the rerun) when the user clicks on the price pane.

    Returns
    -------
    dict or None
        ``{"time": <UTC seconds of the clicked bar>, "price": <price under the cursor>}`` for the last click
        on the price pane, or ``None`` before the first click. It persists across reruns.
    """
    if sum(x is not None for x in (est, payload, payload_json)) != 1:
        raise TypeError("liq_chart() needs one of an Estimate, payload= or payload_json=")
    if payload_options and est is None:
        raise TypeError("pass payload options to build_chart_payload() when you give payload=")
    if payload_json is None:
        payload_json = payload_to_json(
            payload if payload is not None else build_chart_payload(est, **payload_options)
        )
    extra_json = json.dumps(extra or {}, separators=(",", ":"), sort_keys=True, allow_nan=False)
    digest = hashlib.blake2b(payload_json.encode() + b"\0" + extra_json.encode(), digest_size=8).hexdigest()
    result = _component(
        key=key,
        data={"payload_json": payload_json, "extra": extra or {}, "height": int(height), "digest": digest},
        height=int(height),
        on_click_change=on_click or _noop,
    )
    click = result.get("click") if result is not None else None
    if isinstance(click, dict) and "time" in click and "price" in click:
        return {"time": int(click["time"]), "price": float(click["price"])}
    return None


def payload_to_json(payload: dict[str, Any]) -> str:
    """A chart payload as the compact JSON the component reads (no NaN or infinity: the payload has none)."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)
