"""Reading a user's file safely: bounded size before and after unpacking (gzip, zip), then checked text.

Every upload (candles, open interest, liquidation recordings) goes through :func:`read_file_bytes`, so one
limit, :data:`MAX_UPLOAD_MB`, holds for the file as sent and for what it unpacks to. The app's upload widget
and Streamlit's ``server.maxUploadSize`` read the same number.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path
from typing import IO

from .._errors import DataValidationError

__all__ = [
    "MAX_RECORDING_ROWS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "MAX_UPLOAD_ROWS",
    "FileSource",
    "decode_text",
    "read_file_bytes",
    "read_zip_member",
    "too_many_rows",
]

#: Largest upload, in MB (10^6 bytes), both as sent and after unpacking a gzip or zip file.
MAX_UPLOAD_MB = 20
#: The same limit in bytes.
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1_000_000
#: Most data rows of a candle or open-interest upload: 30 days of 1m candles fit, with room to spare.
MAX_UPLOAD_ROWS = 50_000
#: Most events of a liquidation recording.
MAX_RECORDING_ROWS = 200_000

FileSource = bytes | bytearray | str | Path | IO[bytes] | IO[str]

_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f}" if n_bytes >= 100_000 else f"{n_bytes / 1e6:.2g}"


def _limits(max_bytes: int, max_rows: int) -> str:
    return f"at most {max_rows:,} rows and {_mb(max_bytes)} MB (after unpacking)"


def _too_large(what: str, size: str, max_bytes: int, max_rows: int) -> DataValidationError:
    return DataValidationError(
        f"The {what} is too large ({size}). A file may hold {_limits(max_bytes, max_rows)}; upload a shorter "
        "time range."
    )


def too_many_rows(what: str, max_bytes: int, max_rows: int) -> DataValidationError:
    """The error for a file with more than ``max_rows`` data rows (naming both limits)."""
    return DataValidationError(
        f"The {what} has more than {max_rows:,} rows. A file may hold {_limits(max_bytes, max_rows)}; upload a "
        "shorter time range."
    )


def _raw_bytes(source: FileSource, what: str, max_bytes: int, max_rows: int) -> bytes:
    """The bytes as given, reading no more than ``max_bytes + 1`` of them."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise _too_large(what, f"{_mb(size)} MB", max_bytes, max_rows)
            data = path.read_bytes()
        except OSError as exc:
            raise DataValidationError(f"The {what} {path} cannot be opened ({exc.strerror}).") from None
    elif hasattr(source, "read"):
        chunk = source.read(max_bytes + 1)
        data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
    else:
        raise DataValidationError(
            f"The {what} must be CSV bytes, a path or an open file, not {type(source).__name__}."
        )
    if len(data) > max_bytes:
        raise _too_large(what, f"more than {_mb(max_bytes)} MB", max_bytes, max_rows)
    return data


def _gunzip(data: bytes, what: str, max_bytes: int, max_rows: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error):
        raise DataValidationError(
            f"The {what} looks gzip-compressed but cannot be unpacked (damaged or cut short). Upload it "
            "again, or upload the CSV itself."
        ) from None
    if len(out) > max_bytes:
        raise _too_large(what, f"more than {_mb(max_bytes)} MB unpacked", max_bytes, max_rows)
    return out


def read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes | None:
    """A zip member's bytes, or None when its declared size or the bytes actually read exceed ``max_bytes``.

    Reading stops after ``max_bytes + 1`` bytes, so a zip bomb costs no more memory than the limit.
    """
    if info.file_size > max_bytes:
        return None
    with zf.open(info) as fh:
        out = fh.read(max_bytes + 1)
    return None if len(out) > max_bytes else out


def _unzip(data: bytes, what: str, max_bytes: int, max_rows: int) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            csvs = [i for i in members if i.filename.lower().endswith((".csv", ".txt"))]
            if len(csvs) != 1:
                names = ", ".join(i.filename[:60] for i in members[:5]) or "nothing"
                raise DataValidationError(
                    f"The {what} is a zip archive that must hold exactly one CSV file; it holds {names}. "
                    "Zip a single CSV, or upload the CSV itself."
                )
            out = read_zip_member(zf, csvs[0], max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, NotImplementedError):
        raise DataValidationError(
            f"The {what} looks like a zip archive but cannot be unpacked (damaged, encrypted or an Excel "
            "workbook). Upload the CSV itself, or save the sheet as CSV."
        ) from None
    if out is None:
        raise _too_large(what, f"more than {_mb(max_bytes)} MB unpacked", max_bytes, max_rows)
    return out


def read_file_bytes(source: FileSource, what: str, *, max_bytes: int, max_rows: int) -> bytes:
    """The file's bytes, unpacked when it is gzip or a zip of one CSV, never more than ``max_bytes``.

    Parameters
    ----------
    source : bytes, path or file object
        The upload.
    what : str
        How messages name the file, e.g. ``"candles file"``.
    max_bytes : int
        Limit of the file as given and of its unpacked content.
    max_rows : int
        Row limit, only quoted in messages here (the parsers enforce it).

    Raises
    ------
    DataValidationError
        Too large (stating the limits in rows and MB), unreadable, or an archive that cannot be unpacked.

    Examples
    --------
    >>> import gzip
    >>> read_file_bytes(gzip.compress(b"a,b\\n1,2\\n"), "file", max_bytes=100, max_rows=10)
    b'a,b\\n1,2\\n'
    >>> read_file_bytes(gzip.compress(bytes(1000)), "file", max_bytes=100, max_rows=10)
    Traceback (most recent call last):
    ...
    liq._errors.DataValidationError: The file is too large (more than 0.0001 MB unpacked). A file may hold at most 10 rows and 0.0001 MB (after unpacking); upload a shorter time range.
    """
    data = _raw_bytes(source, what, max_bytes, max_rows)
    if data.startswith(_GZIP):
        return _gunzip(data, what, max_bytes, max_rows)
    if data.startswith(_ZIP):
        return _unzip(data, what, max_bytes, max_rows)
    return data


_SIGNATURES = (
    (b"\x80", "a binary Python pickle; only CSV text is accepted and pickles are never opened"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook; save it as CSV"),
    (b"PAR1", "a Parquet file; save it as CSV"),
    (b"ARROW1", "an Arrow/Feather file; save it as CSV"),
    (_GZIP, "gzip-compressed twice; decompress it first"),
    (_ZIP, "a zip inside a zip; unzip it first"),
)


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 text of an unpacked file, with every line ending (CRLF, LF or a lone CR) turned into LF.

    Raises DataValidationError for an empty file, a known binary format, or bytes that are not UTF-8.

    Examples
    --------
    >>> decode_text(b"a,b\\r1,2\\r", "file")
    'a,b\\n1,2\\n'
    """
    if not data.strip():
        raise DataValidationError(f"The {what} is empty.")
    for magic, hint in _SIGNATURES:
        if data.startswith(magic):
            raise DataValidationError(f"The {what} is not a CSV file: it is {hint}.")
    if b"\x00" in data[:4096]:
        raise DataValidationError(
            f"The {what} is not a CSV text file (it contains binary data). Save it as CSV."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataValidationError(
            f"The {what} is not UTF-8 text (bad byte at line {line}). Save it as CSV with UTF-8 encoding."
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
