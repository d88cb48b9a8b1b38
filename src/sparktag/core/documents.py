"""Turn raw text into a ``document`` annotation: the logic of Spark NLP's ``DocumentAssembler``.

The regular expressions below are Spark NLP's ``cleanupMode`` rules, written with Java's defaults in mind:
``re.ASCII`` makes ``\\s`` the ASCII set ``[ \\t\\n\\x0b\\f\\r]`` exactly as ``java.util.regex`` does, and
:func:`sparktag.core.jvm.java_trim` strips what ``String.trim`` strips (every char ``<= U+0020``), so a non-breaking space or
an ideographic space survives cleanup as it does in Spark NLP.

The ``*_full`` modes also target *stringified* escapes: the two characters ``\\`` ``n`` (and ``\\r``,
``\\t``) as they appear in text that was JSON- or CSV-escaped once too often.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from sparktag.annotation import Annotation, AnnotatorType
from sparktag.core.jvm import java_trim

CLEANUP_MODES: tuple[str, ...] = (
    "disabled",
    "inplace",
    "inplace_full",
    "shrink",
    "shrink_full",
    "each",
    "each_full",
    "delete_full",
)

# A stringified escape is a literal backslash followed by r, n or t ("\\n" in Python source).
_WS = re.compile(r"\s", re.ASCII)
_WS_OR_STRINGIFIED = re.compile(r"\s|(?:\\r)?(?:\\n)|(?:\\t)", re.ASCII)
_WS_RUN = re.compile(r"\s+", re.ASCII)
_WS_RUN_OR_STRINGIFIED = re.compile(r"\s+|(?:\\r)*(?:\\n)+|(?:\\t)+", re.ASCII)
# "each": a whitespace char followed by a newline or a tab collapses to one space. A lone "\n" is kept:
# this is what Spark NLP's regex does, whatever its docs suggest.
_WS_BEFORE_NL_TAB = re.compile(r"\s[\n\t]", re.ASCII)
_WS_BEFORE_NL_TAB_OR_STRINGIFIED = re.compile(r"\s(?:\n|\t|(?:\\r)?(?:\\n)|(?:\\t))", re.ASCII)
_STRINGIFIED = re.compile(r"(?:\\r)?(?:\\n)|(?:\\t)")


_CLEANERS: dict[str, Callable[[str], str]] = {
    "disabled": lambda t: t,
    "inplace": lambda t: _WS.sub(" ", t),
    "inplace_full": lambda t: _WS_OR_STRINGIFIED.sub(" ", t),
    "shrink": lambda t: _WS_RUN.sub(" ", java_trim(t)),
    "shrink_full": lambda t: _WS_RUN_OR_STRINGIFIED.sub(" ", java_trim(t)),
    "each": lambda t: _WS_BEFORE_NL_TAB.sub(" ", t),
    "each_full": lambda t: _WS_BEFORE_NL_TAB_OR_STRINGIFIED.sub(" ", t),
    "delete_full": lambda t: _STRINGIFIED.sub("", java_trim(t)),
}


def normalize_cleanup_mode(cleanup_mode: str) -> str:
    """Validate a ``cleanupMode`` value the way Spark NLP's setter does (trimmed, case-insensitive).

    Raises:
        ValueError: the mode is not one of :data:`CLEANUP_MODES`.
    """
    mode = cleanup_mode.strip().lower()
    if mode not in _CLEANERS:
        raise ValueError(
            f"cleanupMode must be one of {', '.join(CLEANUP_MODES)}; got {cleanup_mode!r}. "
            "Use 'disabled' to keep the text as it is."
        )
    return mode


def clean_text(text: str | None, cleanup_mode: str = "disabled") -> str:
    """Apply a ``cleanupMode`` to ``text`` (``None`` counts as the empty string, as in Spark NLP)."""
    return _CLEANERS[normalize_cleanup_mode(cleanup_mode)](text or "")


def assemble_document(
    text: str | None,
    cleanup_mode: str = "disabled",
    metadata: Mapping[str, str] | None = None,
) -> list[Annotation]:
    """Wrap one text into Spark NLP's ``document`` annotation.

    Args:
        text: the raw text; ``None`` is treated as ``""`` (Spark NLP does the same for a null cell).
        cleanup_mode: one of :data:`CLEANUP_MODES` (Spark's ``cleanupMode`` param, default ``disabled``).
        metadata: extra metadata (Spark's ``metadataCol``/``idCol``); ``sentence`` is always set to ``"0"``.

    Returns:
        Exactly one annotation with ``begin=0`` and ``end=len(result) - 1``; an empty or ``None`` text
        gives ``Annotation("document", 0, -1, "", {"sentence": "0"})``, as Spark NLP does.

    Example:
        >>> (doc,) = assemble_document("  Hi\\n\\tthere ", cleanup_mode="shrink", metadata={"id": "7"})
        >>> doc.begin, doc.end, doc.result, doc.metadata
        (0, 7, 'Hi there', {'id': '7', 'sentence': '0'})
    """
    cleaned = clean_text(text, cleanup_mode)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta["sentence"] = "0"  # Spark NLP appends it last, so it wins over a user-given "sentence"
    return [Annotation(AnnotatorType.DOCUMENT, 0, len(cleaned) - 1, cleaned, meta)]
