"""Streamlit's browser protocol spoken from Python: the app's server under test and simulated viewers.

A :class:`Viewer` does what the browser frontend does over ``/_stcore/stream``: it sends a ``BackMsg`` with
``rerun_script`` (a ``ClientState``: the query string, the page as URL path or page hash, widget states,
the browser context) and reads ``ForwardMsg``\\ s until ``script_finished``. It keeps the element tree of
the last run, so widgets are found by their label (never by a hard-coded id) and their new values are
sent the way the frontend sends them (one ``WidgetState`` per changed widget; Streamlit keeps the previous
value of every widget that a rerun does not mention).

:func:`serve_app` runs ``streamlit run app.py`` headless on a loopback port and measures the server process:
resident memory (``/proc/<pid>/status``, server plus children) and the tracebacks it logged.

Only loopback is used: the server binds 127.0.0.1 and viewers connect there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from tests.support.browser import free_port, streamlit_command

ROOT = Path(__file__).resolve().parents[1]
STREAM_PATH = "/_stcore/stream"
HEALTH_PATH = "/_stcore/health"
#: A busy 2-core machine may take a while to import streamlit, pandas and the app.
SERVER_START_TIMEOUT_S = 120.0
#: A rerun that takes longer than this counts as failed (and the viewer stops).
RERUN_TIMEOUT_S = 120.0

_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}


# --- the server under test ----------------------------------------------------------------------------------
def _status_kb(pid: int, key: str) -> int:
    """A ``kB`` figure (``VmRSS``, ``VmHWM``) from ``/proc/<pid>/status``; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (``/proc/<pid>/stat``); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from ``/proc/<pid>/task/*/children``)."""
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except (OSError, ValueError):
                continue
    return out


@dataclass
class Server:
    """A running ``streamlit run`` process and what was measured on it."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    peak_rss_kb: int = 0
    hwm_last_kb: int = 0  # VmHWM read just before the server stops
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def rss_kb(self) -> int:
        """Resident memory now, server plus its children."""
        return sum(_status_kb(p, "VmRSS") for p in _descendants(self.pid))

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server and its children."""
        return sum(cpu_seconds(p) for p in _descendants(self.pid))

    def hwm_kb(self) -> int:
        """The kernel's peak resident memory (``VmHWM``), summed over the server and its children."""
        return sum(_status_kb(p, "VmHWM") for p in _descendants(self.pid))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tracebacks(self) -> list[str]:
        """Every ``Traceback`` block the server printed, each up to its exception line."""
        blocks: list[str] = []
        lines = self.log().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].lstrip().startswith("Traceback (most recent call last)"):
                j = i + 1
                while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                    j += 1
                blocks.append("\n".join(lines[i : j + 1]))
                i = j + 1
            else:
                i += 1
        return blocks

    def _poll(self, every_s: float) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(every_s):
            rss = self.rss_kb()
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.samples.append((time.monotonic() - t0, rss))

    def start_polling(self, every_s: float = 0.5) -> None:
        """Sample RSS in a background thread (``samples``, ``peak_rss_kb``) until the server stops."""
        self.samples.clear()
        threading.Thread(target=self._poll, args=(every_s,), daemon=True, name="rss-poll").start()


def _wait_healthy(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early (code {server.proc.returncode}):\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + HEALTH_PATH, timeout=5) as resp:  # loopback only
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"streamlit did not answer on {server.url} within {timeout_s:.0f} s:\n{server.log()}"
            )
        time.sleep(0.25)


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group (started below)
        proc.wait(timeout=20)


@contextlib.contextmanager
def serve_app(
    *,
    port: int = 0,
    script: str | Path = "app.py",
    env: Mapping[str, str] | None = None,
    pythonpath: Sequence[str | Path] = (),
    extra_args: Sequence[str] = (),
) -> Iterator[Server]:
    """``streamlit run <script>`` (headless, loopback, no file watcher, no telemetry); stopped on exit.

    The server is stopped however the block ends (error, Ctrl-C). ``port=0`` picks a free port.
    Its stdout and stderr go to a temporary log file, read by :meth:`Server.tracebacks`.
    """
    port = port or free_port()
    cmd, run_env = streamlit_command(script, port, extra_args, pythonpath=pythonpath, env=env)
    with tempfile.TemporaryDirectory(prefix="liq-load-") as tmp:
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(proc=proc, url=f"http://127.0.0.1:{port}", log_path=log_path)
        try:
            _wait_healthy(server, SERVER_START_TIMEOUT_S)
            yield server
        finally:
            server._stop.set()
            _stop_process(proc)


# --- the element tree ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Widget:
    """One widget of the last run, as its element describes it."""

    kind: str  # the Element oneof: "selectbox", "checkbox", "slider", "button", ...
    id: str
    label: str
    proto: Any

    @property
    def options(self) -> list[str]:
        return list(getattr(self.proto, "options", []))

    def state(self, value: Any) -> WidgetState:
        """The ``WidgetState`` the frontend sends when the user sets this widget to ``value``."""
        ws = WidgetState(id=self.id)
        kind = self.kind
        if kind in ("selectbox", "radio", "text_input", "text_area", "color_picker"):
            ws.string_value = str(value)
        elif kind == "checkbox":  # st.checkbox and st.toggle
            ws.bool_value = bool(value)
        elif kind == "number_input":
            if self.proto.data_type == self.proto.INT:
                ws.int_value = int(value)
            else:
                ws.double_value = float(value)
        elif kind == "slider":
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if self.options:  # st.select_slider sends the formatted options
                ws.string_array_value.data.extend(str(v) for v in values)
            else:
                ws.double_array_value.data.extend(float(v) for v in values)
        elif kind in ("button", "download_button"):
            ws.trigger_value = True
        elif kind == "bidi_component":  # a components-v2 element: its whole state, as JSON
            ws.json_value = json.dumps(value)
        elif kind == "multiselect":
            ws.string_array_value.data.extend(str(v) for v in value)
        else:
            raise ValueError(f"setting a {kind} widget ({self.label!r}) is not supported by this driver")
        return ws


@dataclass
class Run:
    """One rerun: its time from request to ``script_finished``, and what it drew."""

    seconds: float
    status: int
    elements: dict[tuple[int, ...], Any]
    exceptions: list[str]

    def of_kind(self, kind: str) -> list[Any]:
        """The inner protos of every element of ``kind`` ("heading", "alert", "code", ...), in tree order."""
        return [getattr(e, kind) for _, e in sorted(self.elements.items()) if e.WhichOneof("type") == kind]

    def texts(self) -> list[str]:
        """Headings, markdown, captions and alerts (their text), in tree order."""
        out: list[str] = []
        for _, e in sorted(self.elements.items()):
            kind = e.WhichOneof("type")
            if kind in ("heading", "markdown", "alert"):
                out.append(getattr(e, kind).body)
            elif kind == "text":
                out.append(e.text.body)
        return out

    def alerts(self, fmt: int = 1) -> list[str]:
        """Bodies of the alerts of one format (1 = ERROR, 2 = WARNING, 3 = INFO, 4 = SUCCESS)."""
        return [a.body for a in self.of_kind("alert") if a.format == fmt]

    def widgets(self) -> list[Widget]:
        out: list[Widget] = []
        for _, e in sorted(self.elements.items()):
            kind = e.WhichOneof("type")
            if kind is None:
                continue
            inner = getattr(e, kind)
            desc = inner.DESCRIPTOR.fields_by_name
            if "id" in desc and "label" in desc and inner.id:
                out.append(Widget(kind, inner.id, inner.label, inner))
        return out

    def components(self, name: str = "") -> list[Widget]:
        """The components-v2 elements of this run (``name``: only those whose component name ends so)."""
        return [
            Widget("bidi_component", c.id, c.component_name, c)
            for c in self.of_kind("bidi_component")
            if c.component_name.endswith(name)
        ]

    def widget(self, label: str) -> Widget | None:
        """The first widget whose label is ``label`` (exactly), or whose label starts with it."""
        ws = self.widgets()
        return next((w for w in ws if w.label == label), None) or next(
            (w for w in ws if w.label.startswith(label)), None
        )


class ProtocolError(RuntimeError):
    """The server closed the connection or answered in a way this driver does not understand."""


class Viewer:
    """One simulated browser tab: a websocket session on the app's stream endpoint."""

    def __init__(self, base_url: str, *, timezone: str = "UTC", locale: str = "en-US") -> None:
        self.base_url = base_url.rstrip("/")
        self.timezone = timezone
        self.locale = locale
        self.path = "/"
        self.query_string = ""
        self.page_script_hash = ""
        self.pages: dict[str, tuple[str, str]] = {}  # url path ("" = default page) -> (page hash, title)
        self.protocol_errors: list[str] = []
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._elements: dict[tuple[int, ...], Any] = {}
        self._exceptions: list[str] = []
        self._finished: asyncio.Queue[int] = asyncio.Queue()
        self.last: Run | None = None
        self.bytes_received = 0
        self.messages_received = 0
        self.closed = True  # no open connection (never opened, closed, or dropped by the server)

    # -- connection --
    async def connect(self) -> None:
        ws_url = self.base_url.replace("http://", "ws://", 1) + STREAM_PATH
        # Like the browser: the first subprotocol selects "streamlit"; no XSRF token, no session to resume.
        self._ws = await websockets.connect(
            ws_url,
            subprotocols=[websockets.Subprotocol("streamlit")],
            max_size=None,
            open_timeout=60,
            ping_interval=None,
        )
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self.closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._ws = self._reader = None

    async def __aenter__(self) -> Viewer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                if isinstance(raw, str):
                    self.protocol_errors.append("text frame from the server")
                    continue
                self.bytes_received += len(raw)
                self.messages_received += 1
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except websockets.ConnectionClosed as err:
            self.protocol_errors.append(f"connection closed: {err}")
        finally:
            self.closed = True
            self._finished.put_nowait(-1)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # a script run starts: the tree is rebuilt from here
            self._elements = {}
            if msg.new_session.page_script_hash:
                self.page_script_hash = msg.new_session.page_script_hash
            # Its app_pages are the legacy list (titles as paths); st.navigation's own message has the paths.
        elif kind == "navigation":
            if msg.navigation.page_script_hash:
                self.page_script_hash = msg.navigation.page_script_hash
            self._learn_pages(msg.navigation.app_pages)
        elif kind == "page_info_changed":  # st.query_params changed: the browser rewrites its URL
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            delta = msg.delta
            path = tuple(msg.metadata.delta_path)
            which = delta.WhichOneof("type")
            if which == "new_element":
                self._elements[path] = delta.new_element
                if delta.new_element.WhichOneof("type") == "exception":
                    ex = delta.new_element.exception
                    self._exceptions.append(f"{ex.type}: {ex.message}".strip())
            elif which == "add_block":  # a container replaces whatever was at its path
                for p in [p for p in self._elements if p[: len(path)] == path]:
                    del self._elements[p]
        elif kind == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                ex = ev.script_compilation_exception
                self._exceptions.append(f"compile error {ex.type}: {ex.message}")
        elif kind == "page_not_found":
            self._exceptions.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "ref_hash":  # only sent for hashes the client says it has cached; we never do
            self.protocol_errors.append("unexpected ref_hash message")
        elif kind == "script_finished":
            self._finished.put_nowait(int(msg.script_finished))

    def _learn_pages(self, app_pages: Any) -> None:
        for p in app_pages:
            self.pages[p.url_pathname] = (p.page_script_hash, p.page_name)
            if p.is_default:
                self.pages[""] = (p.page_script_hash, p.page_name)

    # -- reruns --
    @property
    def page_title(self) -> str:
        """The navigation title of the page this viewer is on ("" until the server said)."""
        return next((title for h, title in self.pages.values() if h == self.page_script_hash), "")

    async def open(self, url_path: str = "/", query: str | Mapping[str, str] = "") -> Run:
        """Open the page at ``url_path`` with ``query`` in a fresh session, as a pasted link does."""
        if self._ws is not None:
            await self.close()
        self.path = "/" + url_path.strip("/")
        self.query_string = query if isinstance(query, str) else urlencode(query)
        self.query_string = self.query_string.lstrip("?")
        self.page_script_hash = ""
        await self.connect()
        return await self.rerun(page_name=self.path.strip("/"))

    async def open_link(self, link: str) -> Run:
        """Open a full share link (``http://host/path?query``) on this viewer's server."""
        parts = urlsplit(link)
        return await self.open(parts.path or "/", parts.query)

    async def rerun(
        self,
        changes: Sequence[WidgetState] = (),
        *,
        page_name: str | None = None,
        page_script_hash: str | None = None,
        query: str | None = None,
        timeout_s: float = RERUN_TIMEOUT_S,
    ) -> Run:
        """Send ``rerun_script`` and wait until the run has finished (reruns it triggers included).

        ``page_name`` (a URL path without "/") addresses a page as a fresh browser tab does; otherwise the
        current page's hash is sent, as the frontend does after the first run (``page_script_hash`` switches
        pages, as a click in the navigation does).
        """
        if self._ws is None or self.closed:
            raise ProtocolError("; ".join(self.protocol_errors) or "not connected")
        if query is not None:
            self.query_string = query.lstrip("?")
        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = self.query_string
        if page_name is not None:
            cs.page_name = page_name
        else:
            cs.page_script_hash = page_script_hash if page_script_hash is not None else self.page_script_hash
        cs.widget_states.widgets.extend(changes)
        ctx = cs.context_info
        ctx.timezone = self.timezone
        ctx.timezone_offset = 0
        ctx.locale = self.locale
        ctx.url = self.base_url + self.path  # the browser sends its URL without the query string
        ctx.is_embedded = False
        ctx.color_scheme = "light"
        while not self._finished.empty():  # a stale end (timer fragment, earlier run) is not this run's
            self._finished.get_nowait()
        self._exceptions = []
        t0 = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        status = await self._wait_finished(timeout_s)
        run = Run(time.perf_counter() - t0, status, dict(self._elements), list(self._exceptions))
        self.last = run
        return run

    async def _wait_finished(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no script_finished within {timeout_s:.0f} s")
            status = await asyncio.wait_for(self._finished.get(), left)
            if status < 0:
                raise ProtocolError("; ".join(self.protocol_errors) or "connection closed")
            if status in _DONE:
                return status
            # FINISHED_EARLY_FOR_RERUN (st.rerun, a callback) or a fragment: the run goes on.

    async def set(self, label: str, value: Any) -> Run:
        """Set the widget labelled ``label`` to ``value`` and rerun, as a user's change does."""
        w = self.last.widget(label) if self.last else None
        if w is None:
            raise LookupError(f"no widget labelled {label!r} on {self.path}")
        return await self.rerun([w.state(value)])

    async def goto(self, url_path: str) -> Run:
        """Switch to another page of the same session, as a click in the navigation does."""
        key = url_path.strip("/")
        if key not in self.pages:
            raise LookupError(f"no page {url_path!r}; pages: {sorted(self.pages)}")
        self.path = "/" + key
        return await self.rerun(page_script_hash=self.pages[key][0])


def query_of(link: str) -> dict[str, str]:
    """The query parameters of a link, as a dict."""
    return dict(parse_qsl(urlsplit(link).query))


# --- loopback only, and a fake Binance for the live source --------------------------------------------------
#: Written to a temporary directory put first on the server's PYTHONPATH (Python imports ``sitecustomize``
#: at start-up). It refuses every non-loopback connection (so an "auto" source falls back at once, offline,
#: and nothing leaves the machine) and, when ``LIQ_LOAD_FAKE_BINANCE`` is set, sends requests for Binance's
#: hosts to that loopback URL instead. The app has no setting for its Binance base URLs, hence this hook.
SITECUSTOMIZE = """
import errno
import os
import socket

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}


def _loopback(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in _LOOPBACK or host.startswith("127.")


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _refuse(address):
    raise OSError(errno.ENETUNREACH, f"load benchmark: only loopback connections ({address!r} refused)")


def connect(self, address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        _refuse(address)
    return _connect(self, address)


def connect_ex(self, address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        return errno.ENETUNREACH
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"load benchmark: only loopback ({host!r} not resolved)")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

_FAKE = os.environ.get("LIQ_LOAD_FAKE_BINANCE", "").rstrip("/")
if _FAKE:
    from urllib.parse import urlsplit

    import requests

    _request = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(str(url))
        if parts.hostname and parts.hostname.endswith(("binance.com", "binance.vision")):
            url = f"{_FAKE}/{parts.hostname}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return _request(self, method, url, *args, **kwargs)

    requests.Session.request = request
"""


@contextlib.contextmanager
def loopback_only(fake_binance_url: str = "") -> Iterator[tuple[list[str], dict[str, str]]]:
    """The ``pythonpath`` and ``env`` for :func:`serve_app` that install :data:`SITECUSTOMIZE`."""
    with tempfile.TemporaryDirectory(prefix="liq-load-site-") as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env = {"LIQ_LOAD_FAKE_BINANCE": fake_binance_url} if fake_binance_url else {}
        yield [tmp], env


_INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000}


def fake_symbols(n: int = 30) -> list[str]:
    """``n`` made-up USDⓈ-M perpetual symbols (BTCUSDT and ETHUSDT first)."""
    bases = ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC", "TRX", "NEAR"]
    bases += ["ATOM", "UNI", "APT", "ARB", "OP", "FIL", "INJ", "SUI", "SEI", "TIA", "AAVE", "ETC", "XLM"]
    bases += ["HBAR", "ICP", "RUNE", "ALGO", "EGLD", "SAND", "MANA", "AXS", "FTM", "GALA", "CRV", "LDO"]
    return [f"{b}USDT" for b in bases[:n]]


def _unit(symbol: str, t: int, salt: int) -> float:
    """A deterministic pseudo-random number in [0, 1) for (symbol, time, salt)."""
    h = hash((symbol, t, salt)) & 0xFFFFFFFF  # PYTHONHASHSEED may vary: only the shape must be plausible
    return h / 2**32


class FakeBinance:
    """A loopback HTTP server answering the USDⓈ-M endpoints the live source uses, with synthetic data.

    ``/fapi.binance.com/fapi/v1/exchangeInfo``, ``.../fapi/v1/klines`` (12-field rows, ``limit`` pages) and
    ``.../futures/data/openInterestHist``, and the public archive's daily kline and metrics zips
    (``/data.binance.vision/data/futures/um/daily/...``, days before today); anything else is a 404.
    Prices follow a smooth deterministic path per symbol with hashed noise, so every request is cheap.
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        import http.server
        import json
        from urllib.parse import parse_qs

        self.symbols = list(symbols)
        self.requests = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake.requests += 1
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body: Any
                if parts.path.endswith("/fapi/v1/exchangeInfo"):
                    body = {
                        "symbols": [
                            {
                                "symbol": s,
                                "contractType": "PERPETUAL",
                                "status": "TRADING",
                                "quoteAsset": "USDT",
                            }
                            for s in fake.symbols
                        ]
                    }
                elif parts.path.endswith("/fapi/v1/klines") and q.get("symbol") in fake.symbols:
                    body = fake.klines(q["symbol"], q.get("interval", "5m"), q)
                elif (
                    parts.path.endswith("/futures/data/openInterestHist") and q.get("symbol") in fake.symbols
                ):
                    body = fake.open_interest(q["symbol"], q.get("period", "5m"), q)
                elif parts.path.endswith(".zip") and "/data/futures/um/daily/" in parts.path:
                    data = fake.archive_zip(parts.path.rsplit("/", 1)[-1])
                    if data is None:
                        self._send(404, {"code": -1, "msg": "no such archive file"})
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/zip")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                elif parts.path.endswith("/fapi/v1/klines"):
                    self._send(400, {"code": -1121, "msg": "Invalid symbol."})
                    return
                else:
                    self._send(404, {"code": -1, "msg": "not served by the fake"})
                    return
                self._send(200, body)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="fake-binance")

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _times(self, step: int, q: Mapping[str, str], limit_max: int) -> list[int]:
        now = int(time.time() * 1000)
        end = min(int(q.get("endTime", now)), now)
        limit = max(1, min(int(q.get("limit", limit_max)), limit_max))
        start = int(q.get("startTime", end - limit * step))
        first = -(-start // step) * step
        return list(range(first, end + 1, step))[:limit]

    def _price(self, symbol: str, t: int) -> float:
        import math

        base = 10.0 ** (1 + self.symbols.index(symbol) % 5)
        day = t / 86_400_000
        return base * (1 + 0.04 * math.sin(day * 1.3 + len(symbol)) + 0.015 * math.sin(day * 9.1))

    def klines(
        self, symbol: str, interval: str, q: Mapping[str, str], limit_max: int = 1500
    ) -> list[list[Any]]:
        step = _INTERVAL_MS.get(interval, 300_000)
        rows = []
        for t in self._times(step, q, limit_max):
            o, c = self._price(symbol, t), self._price(symbol, t + step)
            wig = abs(c - o) + o * 0.002 * _unit(symbol, t, 1)
            hi, lo = max(o, c) + wig, min(o, c) - wig
            vol = 100 + 900 * _unit(symbol, t, 2)
            qv = vol * (o + c) / 2
            tb = vol * (0.3 + 0.4 * _unit(symbol, t, 3))
            rows.append(
                [
                    t,
                    f"{o:.6g}",
                    f"{hi:.6g}",
                    f"{lo:.6g}",
                    f"{c:.6g}",
                    f"{vol:.3f}",
                    t + step - 1,
                    f"{qv:.2f}",
                    1000,
                    f"{tb:.3f}",
                    f"{tb * (o + c) / 2:.2f}",
                    "0",
                ]
            )
        return rows

    def open_interest(
        self, symbol: str, period: str, q: Mapping[str, str], limit_max: int = 500
    ) -> list[dict[str, Any]]:
        step = _INTERVAL_MS.get(period, 300_000)
        out = []
        for t in self._times(step, q, limit_max):
            usd = 5e6 * 10 ** (self.symbols.index(symbol) % 3) * (1 + 0.1 * _unit(symbol, t // 86_400_000, 4))
            price = self._price(symbol, t)
            out.append(
                {
                    "symbol": symbol,
                    "sumOpenInterest": f"{usd / price:.3f}",
                    "sumOpenInterestValue": f"{usd:.2f}",
                    "timestamp": t,
                }
            )
        return out

    def archive_zip(self, name: str) -> bytes | None:
        """A daily archive file (``SYM-5m-2026-11-30.zip`` or ``SYM-metrics-2026-11-30.zip``), or None."""
        import io
        import re
        import zipfile
        from datetime import datetime, timezone

        m = re.fullmatch(r"([A-Z0-9]+)-(1m|5m|15m|1h|4h|metrics)-(\d{4}-\d{2}-\d{2})\.zip", name)
        if m is None or m[1] not in self.symbols:
            return None
        symbol, kind = m[1], m[2]
        day = datetime.strptime(m[3], "%Y-%m-%d").replace(tzinfo=timezone.utc)
        start = int(day.timestamp() * 1000)
        if start + 86_400_000 > time.time() * 1000:  # the archive publishes finished days only
            return None
        q = {"startTime": str(start), "endTime": str(start + 86_400_000 - 1), "limit": "100000"}
        lines: list[str] = []
        if kind == "metrics":
            lines.append("create_time,symbol,sum_open_interest,sum_open_interest_value")
            for r in self.open_interest(symbol, "5m", q, limit_max=288):
                when = datetime.fromtimestamp(r["timestamp"] / 1000, timezone.utc).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
                lines.append(f"{when},{symbol},{r['sumOpenInterest']},{r['sumOpenInterestValue']}")
        else:
            for row in self.klines(symbol, kind, q, limit_max=1440):
                lines.append(",".join(str(v) for v in row))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name[: -len(".zip")] + ".csv", "\n".join(lines) + "\n")
        return buf.getvalue()
