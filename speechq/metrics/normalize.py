"""Text normalisation before scoring: small transforms composed in order, as jiwer composes them.

Each transform is a frozen callable ``str -> str``; :class:`Compose` chains them. Presets:

- :data:`ENGLISH`: the default for WER/CER: typographic apostrophes (``’``) -> ``'``, lower case, punctuation (Unicode
  category P) replaced by a space except apostrophes, whitespace collapsed, ends stripped. Hence ``"Don't, SAY
  it!"`` -> ``"don't say it"`` and ``"well-known"`` -> ``"well known"``.
- :data:`WHITESPACE`: whitespace collapsed and ends stripped only (the default for token error rates, whose tokens
  may carry case or symbols, e.g. phonemes ``"AH0"``).
- ``None`` (where a metric takes ``normalize``): no normalisation at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = [
    "TextTransform",
    "Compose",
    "ToLowerCase",
    "NormalizeApostrophes",
    "RemovePunctuation",
    "CollapseWhitespace",
    "Strip",
    "ENGLISH",
    "WHITESPACE",
    "apply_transform",
]

TextTransform = Callable[[str], str]
"""Any ``str -> str`` callable (the transforms below, a :class:`Compose`, or your own function)."""

_WHITESPACE_RUN = re.compile(r"\s+")
_APOSTROPHES = "\u2019\u02bc"  # right single quotation mark, modifier letter apostrophe


@dataclass(frozen=True)
class ToLowerCase:
    """Case folding (``str.lower``)."""

    def __call__(self, text: str) -> str:
        return text.lower()


@dataclass(frozen=True)
class NormalizeApostrophes:
    """Typographic apostrophes (``’`` U+2019, ``ʼ`` U+02BC) become ASCII ``'`` (``‘`` is left: it opens quotes)."""

    def __call__(self, text: str) -> str:
        return text.translate(_APOSTROPHE_TABLE)


_APOSTROPHE_TABLE = str.maketrans({c: "'" for c in _APOSTROPHES})


@dataclass(frozen=True)
class RemovePunctuation:
    """Punctuation (Unicode category ``P*``) replaced by ``replacement``, except the characters in ``keep``.

    Attributes:
        keep: characters left alone (default: the apostrophe, so ``"don't"`` stays one word).
        replacement: what replaces each punctuation mark (default a space: ``"well-known"`` -> two words).
    """

    keep: str = "'"
    replacement: str = " "

    def __call__(self, text: str) -> str:
        return "".join(
            self.replacement if unicodedata.category(c).startswith("P") and c not in self.keep else c for c in text
        )


@dataclass(frozen=True)
class CollapseWhitespace:
    """Every run of whitespace (spaces, tabs, newlines) becomes one space."""

    def __call__(self, text: str) -> str:
        return _WHITESPACE_RUN.sub(" ", text)


@dataclass(frozen=True)
class Strip:
    """Leading and trailing whitespace removed."""

    def __call__(self, text: str) -> str:
        return text.strip()


@dataclass(frozen=True)
class Compose:
    """Transforms applied left to right."""

    transforms: tuple[TextTransform, ...]

    def __init__(self, transforms: Sequence[TextTransform]) -> None:
        object.__setattr__(self, "transforms", tuple(transforms))

    def __call__(self, text: str) -> str:
        for transform in self.transforms:
            text = transform(text)
        return text


def apply_transform(transform: TextTransform | None, texts: Sequence[str]) -> list[str]:
    """``transform`` applied to each text (``None``: the texts unchanged)."""
    return list(texts) if transform is None else [transform(t) for t in texts]


ENGLISH = Compose([NormalizeApostrophes(), ToLowerCase(), RemovePunctuation(), CollapseWhitespace(), Strip()])
"""Default normalisation for word and character error rates (see the module docstring)."""

WHITESPACE = Compose([CollapseWhitespace(), Strip()])
"""Whitespace-only normalisation (default for token error rates)."""
