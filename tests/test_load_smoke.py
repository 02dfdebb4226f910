"""Smoke test of the load benchmark's protocol driver (``benchmarks/load.py``) against a real app server.

One viewer opens a share link, changes a sidebar widget and switches page; then the benchmark's own driver
runs two viewers for about five seconds. Reruns must complete without errors and each page's element tree
must hold the page's title, so a change in Streamlit's protocol or in the app cannot make the benchmark
measure nothing without a failing test.
"""

from __future__ import annotations

import asyncio

from benchmarks import load
from benchmarks._load_proto import Viewer, loopback_only, query_of, serve_app


def test_viewers_rerun_change_settings_and_see_the_page_title() -> None:
    args = load.parse_args(["--sessions", "2", "--seconds", "5", "--think", "0.3-0.8", "--ramp", "0"])
    stats = load.Stats()
    with loopback_only() as (pythonpath, env), serve_app(pythonpath=pythonpath, env=env) as server:

        async def drive() -> None:
            async with Viewer(server.url) as viewer:
                run = await viewer.open("/", {"sym": "ETHUSDT", "range": "1d", "src": "sample"})
                assert viewer.page_title, "the server named no page (navigation messages not understood)"
                assert viewer.page_title in run.texts()
                assert not run.exceptions
                assert query_of("?" + viewer.query_string)["sym"] == "ETHUSDT"  # the link was understood

                assert run.widget("Range") is not None, (
                    "the sidebar's Range picker was not found by its label"
                )
                run = await viewer.set("Range", "3d")
                assert query_of("?" + viewer.query_string)["range"] == "3d"  # the change reached the app
                assert viewer.page_title in run.texts()

                run = await viewer.goto("/model_check")
                assert viewer.page_title and viewer.page_title in run.texts()
                assert not run.exceptions
            await load.Driver(server.url, args, stats).run(server, [])

        asyncio.run(drive())
        tracebacks = server.tracebacks()

    assert len(stats.reruns) >= args.sessions, stats  # every viewer's page load completed
    assert stats.titles_missing == 0
    assert not stats.link_ignored, stats.link_ignored  # the share-link parameters the driver uses still work
    assert not stats.errors, stats.errors
    assert not tracebacks, tracebacks[0]
