"""Refresh the shipped leverage-bracket table from Binance.

Binance's ``GET /fapi/v1/leverageBracket`` is a signed endpoint: it needs an API key and secret (a read-only
key is enough). They are read from the environment variables ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET``
or, when those are not set and Streamlit is installed, from ``st.secrets`` (top-level keys of the same
names). They are never printed, logged or written anywhere.

The table is reduced to USDT-margined perpetuals (``contractType`` PERPETUAL and ``quoteAsset`` USDT in the
public ``GET /fapi/v1/exchangeInfo``), checked with :func:`liq._brackets.load_brackets` and only then written,
gzip-compressed, in the same layout as the shipped file, with today's date (UTC) as ``as_of``.

Note that Binance answers with the brackets *of the key's account*; an account with custom brackets
(``notionalCoef`` other than 1) gets different numbers from the public schedule. Use a plain account's key.

Usage::

    python -m scripts.refresh_brackets [--out PATH] [--dry-run] [--timeout SECONDS]
    python scripts/refresh_brackets.py --dry-run

Exit codes: 0 done, 1 Binance or the network failed (message on stderr), 2 no API key (or bad arguments),
3 Binance rejected the key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liq._brackets import BRACKET_COLUMNS, BRACKET_FILE, BracketTable, load_brackets
from liq._errors import GeoBlockedError, LiqError, RateLimitError, SourceError
from liq._sources.live import DEFAULT_TIMEOUT_S, BinanceLive, _use_deadline_session

logger = logging.getLogger(__name__)

KEY_NAME = "BINANCE_API_KEY"
SECRET_NAME = "BINANCE_API_SECRET"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "liq" / "data" / BRACKET_FILE

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_KEY = 2
EXIT_BAD_KEY = 3

#: Binance's answers for a key it does not accept: HTTP 401, or -2014/-2015 (bad key, IP or permissions),
#: -1022 (signature not valid: usually a wrong secret).
_BAD_KEY_STATUS = frozenset({401})
_BAD_KEY_CODES = frozenset({-1022, -2014, -2015})


class BadKeyError(SourceError):
    """Binance refused the API key or its signature."""


@dataclass(frozen=True)
class Credentials:
    """An API key pair. ``repr`` never shows the values."""

    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    def scrub(self, text: str) -> str:
        """``text`` with the key and the secret replaced by ``<hidden>``."""
        for value in (self.api_key, self.api_secret):
            text = text.replace(value, "<hidden>")
        return text


def _streamlit_secrets() -> Mapping[str, Any]:
    """The two key names from ``st.secrets`` if Streamlit is installed and has them; otherwise empty."""
    try:
        import streamlit as st
    except ImportError:
        return {}
    try:
        return {name: st.secrets[name] for name in (KEY_NAME, SECRET_NAME) if name in st.secrets}
    except Exception:  # no secrets.toml, or one that does not parse: treat as "not set"
        logger.debug("Streamlit secrets are not available")
        return {}


def find_credentials(environ: Mapping[str, str], secrets: Mapping[str, Any] | None) -> Credentials | None:
    """The API key pair from ``environ``, else from ``secrets`` (default ``st.secrets``); None if neither has both.

    Parameters
    ----------
    environ : Mapping[str, str]
        Usually ``os.environ``.
    secrets : Mapping or None
        Streamlit-style secrets; None looks them up in ``st.secrets`` when the environment lacks the key.

    Returns
    -------
    Credentials or None
    """
    key, secret = environ.get(KEY_NAME, "").strip(), environ.get(SECRET_NAME, "").strip()
    if key and secret:
        return Credentials(key, secret)
    store = _streamlit_secrets() if secrets is None else secrets
    key, secret = str(store.get(KEY_NAME, "")).strip(), str(store.get(SECRET_NAME, "")).strip()
    return Credentials(key, secret) if key and secret else None


def _client(creds: Credentials, timeout_s: float) -> BinanceLive:
    """A signed python-binance client (no spot ping, a total deadline per request), with the project's error mapping."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from binance.client import Client

        client = Client(creds.api_key, creds.api_secret, ping=False, requests_params={"timeout": timeout_s})
    _use_deadline_session(client, timeout_s)  # keeps the session's headers (the API key header among them)
    return BinanceLive(timeout_s=timeout_s, client=client)


def _signed_brackets(live: BinanceLive) -> Any:
    """Call the signed endpoint, turning a refused key into :class:`BadKeyError` (which ``call`` passes on)."""
    from binance.exceptions import BinanceAPIException

    def fetch() -> Any:
        try:
            return live.client.futures_leverage_bracket()
        except BinanceAPIException as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            if status in _BAD_KEY_STATUS or getattr(exc, "code", None) in _BAD_KEY_CODES:
                raise BadKeyError(
                    f"Binance refused the API key (HTTP {status}, code {exc.code}). Check {KEY_NAME} and "
                    f"{SECRET_NAME}: the pair must match, the key must allow reading futures data, and any IP "
                    "restriction on the key must include this machine."
                ) from None
            raise

    return live.call("reading the leverage brackets", fetch)


def _usdt_perpetuals(info: Any) -> frozenset[str]:
    """Symbols of exchange info whose contract is a perpetual quoted in USDT."""
    rows = info.get("symbols") if isinstance(info, dict) else None
    if not isinstance(rows, list):
        raise SourceError("Binance's exchange info came back in an unexpected shape; try again in a minute.")
    return frozenset(
        str(r["symbol"])
        for r in rows
        if isinstance(r, dict) and r.get("contractType") == "PERPETUAL" and r.get("quoteAsset") == "USDT"
    )


def _rows(brackets: Iterable[Mapping[str, Any]]) -> list[list[float]]:
    """Binance bracket objects as ``[floor, cap, mmr, max_leverage, cum]`` rows, lowest notional first."""
    rows = [
        [
            float(b["notionalFloor"]),
            float(b["notionalCap"]),
            float(b["maintMarginRatio"]),
            float(b["initialLeverage"]),
            float(b["cum"]),
        ]
        for b in brackets
    ]
    return sorted(rows)


def build_table(answer: Any, keep: frozenset[str], as_of: str) -> dict[str, Any]:
    """The file's JSON document from Binance's ``leverageBracket`` answer, keeping only ``keep`` symbols.

    Parameters
    ----------
    answer : list of dict
        Binance's answer: ``[{"symbol": ..., "brackets": [{"notionalFloor": ..., ...}, ...]}, ...]``.
    keep : frozenset of str
        Symbols to keep (the USDT perpetuals).
    as_of : str
        Date of the snapshot, ``YYYY-MM-DD``.

    Returns
    -------
    dict
        ``{"source", "as_of", "columns", "symbols"}``, symbols sorted.

    Raises
    ------
    SourceError
        If the answer does not have Binance's shape.
    """
    try:
        symbols = {str(e["symbol"]): _rows(e["brackets"]) for e in answer if str(e["symbol"]) in keep}
    except (KeyError, TypeError, ValueError) as err:
        raise SourceError(
            f"Binance's leverage brackets came back in an unexpected shape ({type(err).__name__}: {err}); "
            "try again later, or check whether the API changed."
        ) from None
    source = (
        "Binance GET /fapi/v1/leverageBracket (USDT-margined perpetuals, as listed by GET /fapi/v1/exchangeInfo), "
        f"fetched {as_of} by scripts/refresh_brackets.py"
    )
    return {
        "source": source,
        "as_of": as_of,
        "columns": list(BRACKET_COLUMNS),
        "symbols": dict(sorted(symbols.items())),
    }


def _checked(doc: Mapping[str, Any], directory: Path) -> tuple[bytes, BracketTable]:
    """Compress ``doc`` and read it back through the loader (which checks every rule) before anything is written."""
    data = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), compresslevel=9, mtime=0)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        probe = Path(tmp) / BRACKET_FILE
        probe.write_bytes(data)
        return data, load_brackets(probe)


def _write(data: bytes, out: Path) -> None:
    """Write ``data`` to ``out`` atomically (a half-written table would break the package)."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)


def summary(new: BracketTable, old: BracketTable | None) -> str:
    """A few lines on the new table, and how it differs from the one it replaces."""
    top = max((b[0].max_leverage for b in new.symbols.values()), default=0.0)
    at_top = sorted(s for s, b in new.symbols.items() if b[0].max_leverage == top)
    lines = [
        f"{len(new.symbols)} USDT perpetuals, brackets as of {new.as_of}.",
        f"Highest leverage {top:g}x, on {', '.join(at_top[:5])}{' …' if len(at_top) > 5 else ''}.",
    ]
    if old is not None:
        added = sorted(set(new.symbols) - set(old.symbols))
        gone = sorted(set(old.symbols) - set(new.symbols))
        changed = sorted(s for s in set(new.symbols) & set(old.symbols) if new.symbols[s] != old.symbols[s])
        lines.append(
            f"Against the table of {old.as_of}: {len(added)} new, {len(gone)} gone, {len(changed)} changed"
            + (f" (new: {', '.join(added[:8])}{' …' if len(added) > 8 else ''})" if added else "")
            + "."
        )
    return "\n".join(lines)


def _previous(out: Path) -> BracketTable | None:
    """The table currently at ``out``, if there is a readable one."""
    if not out.exists():
        return None
    try:
        return load_brackets(out)
    except LiqError:
        return None


def refresh(creds: Credentials, out: Path, *, dry_run: bool, timeout_s: float, today: dt.date) -> str:
    """Fetch, filter, check and (unless ``dry_run``) write the table; return the summary to print."""
    live = _client(creds, timeout_s)
    try:
        keep = _usdt_perpetuals(live.call("reading the symbol list", live.client.futures_exchange_info))
        answer = _signed_brackets(live)
    finally:
        live.close()
    doc = build_table(answer, keep, today.isoformat())
    if not doc["symbols"]:
        raise SourceError("Binance's answer holds no USDT perpetual; the table was not changed.")
    out.parent.mkdir(parents=True, exist_ok=True)
    data, table = _checked(doc, out.parent)
    text = summary(table, _previous(out))
    if dry_run:
        return text + f"\nDry run: {out} was not changed."
    _write(data, out)
    return text + f"\nWrote {out} ({len(data):,} bytes)."


def _for_this_script(err: LiqError) -> str:
    """The error's message, with the app-specific advice of the live source replaced where it does not fit."""
    if isinstance(err, GeoBlockedError):
        return (
            "Binance refuses requests from this location (HTTP 451: restricted location), so the table cannot "
            "be refreshed from here. Run the script where Binance's futures API is available."
        )
    if isinstance(err, RateLimitError):
        return f"{str(err).split(';')[0]}. Wait a few minutes, then run the script again."
    return str(err)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.refresh_brackets",
        description="Refresh the leverage-bracket table from Binance (needs BINANCE_API_KEY and BINANCE_API_SECRET).",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write the table (default: {DEFAULT_OUT})"
    )
    p.add_argument("--dry-run", action="store_true", help="fetch and check, print a summary, write nothing")
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait for each Binance request"
    )
    return p


def main(argv: Sequence[str] | None = None, *, secrets: Mapping[str, Any] | None = None) -> int:
    """Run the refresh; return the exit code (see the module docstring).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).
    secrets : Mapping, optional
        Streamlit-style secrets to use when the environment has no key (default: ``st.secrets``).
    """
    args = _parser().parse_args(argv)
    creds = find_credentials(os.environ, secrets)
    if creds is None:
        print(
            f"No Binance API key: set {KEY_NAME} and {SECRET_NAME} in the environment (or in Streamlit's "
            "secrets.toml). The leverage-bracket endpoint is signed, so it cannot be read without a key; a "
            "read-only key is enough.",
            file=sys.stderr,
        )
        return EXIT_NO_KEY
    today = dt.datetime.now(dt.timezone.utc).date()
    try:
        print(refresh(creds, args.out, dry_run=args.dry_run, timeout_s=args.timeout, today=today))
    except BadKeyError as err:
        print(creds.scrub(str(err)), file=sys.stderr)
        return EXIT_BAD_KEY
    except LiqError as err:
        print(creds.scrub(f"{_for_this_script(err)} The table was not changed."), file=sys.stderr)
        return EXIT_FAILED
    except Exception as err:  # anything unforeseen: short message here, the (scrubbed) traceback in the log
        logger.error("Refreshing the brackets failed:\n%s", creds.scrub(traceback.format_exc()))
        print(
            creds.scrub(f"Refreshing the brackets failed unexpectedly ({type(err).__name__}); see the log."),
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
