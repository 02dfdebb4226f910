"""Messages to the user: text shown as text, known errors as their message, unexpected ones logged.

Streamlit renders message bodies as markdown. Anything that holds text a user chose (a pair, a file name, a
symbol inside a recording, a value from a link) goes through :func:`plain` first, so it can never become a
link, emphasis, an icon or a formula inside the app's own message.
"""

from __future__ import annotations

import logging
import re

import streamlit as st

import liq

__all__ = ["plain", "show_error", "show_unexpected"]

logger = logging.getLogger(__name__)

# Markdown (and Streamlit's extensions: :icons:, :colour[...], $math$) starts with one of these characters.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$:])")
# GitHub-style autolinks are found in the text after parsing, so escapes do not stop them: a zero-width space
# breaks the patterns they look for (a scheme's "://", "www.", an e-mail's "@") without changing what is read.
_AUTOLINK = re.compile(r"(?i)(://|\bwww(?=\.)|@)")
_ZWSP = "\u200b"


def plain(text: object) -> str:
    r"""``text`` escaped so that Streamlit's markdown shows it exactly as written.

    >>> shown = plain("**BOLD**[x](https://evil.example) at www.evil.example for $5")
    >>> print(shown.replace("\u200b", "|"))
    \*\*BOLD\*\*\[x\](https\:|//evil.example) at w|ww.evil.example for \$5
    """
    escaped = _MARKDOWN.sub(r"\\\1", str(text))
    unlinked = _AUTOLINK.sub(lambda m: m.group(1)[0] + _ZWSP + m.group(1)[1:], escaped)
    return unlinked.replace("\n", "  \n")


def show_error(err: BaseException, *, level: str = "error") -> None:
    """Show an error from ``liq`` as its message (plain text, never a traceback)."""
    text = plain(str(err) or err.__class__.__name__)
    if level == "warning":
        st.warning(text, icon=":material/warning:")
    else:
        st.error(text, icon=":material/error:")


def show_unexpected(err: BaseException, what: str) -> None:
    """Log an exception that is not one of ``liq``'s (with its traceback, on the server) and tell the user.

    ``what`` says what was being done, in a few words ("loading the data").
    """
    if isinstance(err, liq.LiqError):
        show_error(err)
        return
    logger.exception("Unexpected error while %s", what, exc_info=err)
    st.error(
        f"Something unexpected went wrong while {what}. It has been logged on the server. Try another "
        "setting or source, or reload the page.",
        icon=":material/error:",
    )
