"""CTC vocabularies: the symbols a model's last axis indexes, which one is the blank, which one separates words.

A :class:`Vocabulary` is validated once (no duplicates, blank and word delimiter among the tokens) and then turns
token ids into text. Three kinds are covered:

- character vocabularies with a word delimiter (DeepSpeech: ``" "``; Wav2Vec2: ``"|"``): tokens are concatenated
  and the delimiter becomes a space;
- token-level vocabularies without a delimiter (``word_delimiter=None``, e.g. phonemes): tokens are joined by
  single spaces, so that each token is one "word" for :func:`speechq.metrics.token_error_rate`.
"""

from __future__ import annotations

import enum
import json
import logging
import string
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import numpy as np
from numpy.typing import NDArray

from speechq.errors import ConfigError, DataError, ModelError

__all__ = ["Vocabulary", "AUTO", "DEEPSPEECH_TOKENS"]

logger = logging.getLogger(__name__)


class _Auto(enum.Enum):
    AUTO = "auto"


AUTO: Literal[_Auto.AUTO] = _Auto.AUTO
"""Default of ``word_delimiter`` in the file constructors: ``"|"`` if present, else ``" "`` if present, else None."""

DEEPSPEECH_TOKENS: tuple[str, ...] = (" ", *string.ascii_lowercase, "'", "")
"""DeepSpeech 0.x alphabet: space, a-z, apostrophe, then the blank (written here as ``""``); 29 symbols."""

_HF_BLANK = "<pad>"
_BLANK_CANDIDATES = ("<pad>", "<blank>")
_DELIMITER_CANDIDATES = ("|", " ")
_COMMENT = "#"


@dataclass(frozen=True)
class Vocabulary:
    """The symbols of a CTC model's output, in output order.

    Attributes:
        tokens: one string per output index (the blank's string is only a name; it never reaches the text).
        blank_index: index of the CTC blank in ``tokens`` (a negative index counts from the end and is normalised).
        word_delimiter: the token marking word boundaries (``" "`` for DeepSpeech, ``"|"`` for Wav2Vec2), or
            ``None`` for token-level vocabularies (phonemes), whose text is the tokens joined by spaces.

    Raises:
        ConfigError: no tokens, a token that is not a string, duplicate tokens, an empty non-blank token, a blank
            index out of range, or a word delimiter that is not a (non-blank) token.
    """

    tokens: tuple[str, ...]
    blank_index: int
    word_delimiter: str | None = None

    def __post_init__(self) -> None:
        tokens = _checked_tokens(self.tokens)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "blank_index", _checked_blank_index(self.blank_index, len(tokens)))
        empty = [i for i, t in enumerate(tokens) if t == "" and i != self.blank_index]
        if empty:
            raise ConfigError(f"vocabulary: only the blank may be an empty string; tokens {empty} are empty too")
        if self.word_delimiter is not None:
            if self.word_delimiter not in tokens:
                raise ConfigError(
                    f"vocabulary: word_delimiter {self.word_delimiter!r} is not one of the {len(tokens)} tokens"
                )
            if tokens.index(self.word_delimiter) == self.blank_index:
                raise ConfigError(f"vocabulary: word_delimiter {self.word_delimiter!r} is the blank token")

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_tokens(
        cls, tokens: Iterable[str], blank_index: int = -1, word_delimiter: str | None = None
    ) -> Vocabulary:
        """A vocabulary from an inline token list (blank last by default, no word delimiter by default)."""
        return cls(tuple(tokens), blank_index, word_delimiter)

    @classmethod
    def deepspeech(cls) -> Vocabulary:
        """DeepSpeech's 29 symbols: space (the word delimiter), a-z, apostrophe, blank last (index 28)."""
        return cls(DEEPSPEECH_TOKENS, len(DEEPSPEECH_TOKENS) - 1, " ")

    @classmethod
    def from_hf_vocab_json(
        cls, path: str | Path, blank: str | int = _HF_BLANK, word_delimiter: str | None | _Auto = AUTO
    ) -> Vocabulary:
        """A Hugging Face CTC tokenizer's ``vocab.json`` (``{token: id}``): ``<pad>`` is the blank, ``|`` the delimiter.

        Raises:
            ConfigError: the file is missing, is not a ``{token: id}`` object with ids 0..n-1, or lacks the blank.
        """
        raw = _read_json(Path(path))
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{path}: a Hugging Face vocab.json holds an object {{token: id}}, got {type(raw).__name__}"
            )
        return _build(_tokens_from_id_map(raw, Path(path)), blank, word_delimiter, Path(path))

    @classmethod
    def from_file(
        cls, path: str | Path, blank: str | int | None = None, word_delimiter: str | None | _Auto = AUTO
    ) -> Vocabulary:
        """A vocabulary from a file, by content.

        Formats: a JSON list of tokens; a JSON object ``{token: id}`` (Hugging Face ``vocab.json``); otherwise text
        with one token per line (DeepSpeech ``alphabet.txt``: lines starting with ``#`` are comments, ``\\#`` is a
        literal ``#``, a line holding one space is the space token, empty lines are skipped).

        Args:
            path: the file.
            blank: the blank's token string or index (an index equal to the number of tokens appends the blank after
                the last one). ``None``: ``<pad>`` or ``<blank>`` if present, otherwise a blank is appended after the
                last token (DeepSpeech's convention: the alphabet file omits it).
            word_delimiter: the word-boundary token, ``None`` for token-level vocabularies, or :data:`AUTO`
                (``"|"`` if present, else ``" "`` if present, else ``None``).

        Raises:
            ConfigError: missing/unreadable file, malformed content, unknown blank or delimiter, duplicates.
        """
        path = Path(path)
        text = _read_text(path)
        if text.lstrip().startswith(("[", "{")):
            raw = _parse_json(text, path)
            if isinstance(raw, dict):
                tokens = _tokens_from_id_map(raw, path)
            elif isinstance(raw, list):
                tokens = raw
            else:
                raise ConfigError(f"{path}: a JSON vocabulary is a list of tokens or an object {{token: id}}")
        else:
            tokens = _tokens_from_lines(text)
        return _build(tokens, blank, word_delimiter, path)

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        """Number of symbols, blank included: the model's output size."""
        return len(self.tokens)

    @property
    def blank(self) -> str:
        """The blank's token string (a name only)."""
        return self.tokens[self.blank_index]

    def check_output_size(self, size: int, where: str) -> None:
        """Raise when a model output's last axis does not have one entry per token.

        Raises:
            ModelError: ``size != len(self)``; the message names ``where``.
        """
        if int(size) != self.size:
            raise ModelError(
                f"{where}: the output has {size} symbols per frame but the vocabulary has {self.size} "
                f"(blank at {self.blank_index}); give the vocabulary the model was trained with"
            )

    def tokens_to_text(self, token_ids: Sequence[int] | NDArray[np.integer[Any]]) -> str:
        """Text of a token id sequence (already CTC-collapsed; blank ids are skipped).

        With a word delimiter, tokens are concatenated, the delimiter becomes a space, and runs of whitespace
        collapse to one space with none at either end. Without one, tokens are joined by single spaces.

        Raises:
            DataError: an id outside ``[0, len(self))``.
        """
        ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            bad = ids[(ids < 0) | (ids >= self.size)][:5].tolist()
            raise DataError(f"token ids {bad} are outside the vocabulary of {self.size} symbols")
        ids = ids[ids != self.blank_index]
        pieces = self._text_pieces[ids].tolist()
        if self.word_delimiter is None:
            return " ".join(pieces)
        return " ".join("".join(pieces).split())

    def text_to_ids(self, text: str) -> list[int]:
        """Token ids spelling ``text`` (no blanks, no CTC repeats): the inverse of :meth:`tokens_to_text`.

        With a word delimiter, each whitespace-separated word is split into tokens by longest match and words are
        separated by the delimiter; without one, each whitespace-separated piece must be a token.

        Raises:
            DataError: a piece of ``text`` that no token spells.
        """
        index = {t: i for i, t in enumerate(self.tokens) if i != self.blank_index}
        words = text.split()
        if self.word_delimiter is None:
            missing = [w for w in words if w not in index]
            if missing:
                raise DataError(f"text_to_ids: {missing[:5]} are not tokens of the vocabulary")
            return [index[w] for w in words]
        ids: list[int] = []
        for position, word in enumerate(words):
            if position:
                ids.append(index[self.word_delimiter])
            ids.extend(_longest_match(word, index))
        return ids

    @cached_property
    def _text_pieces(self) -> NDArray[np.object_]:
        """Object array: the text each token id contributes (delimiter -> space)."""
        pieces = [" " if t == self.word_delimiter else t for t in self.tokens]
        return np.array(pieces + [None], dtype=object)[:-1]  # the extra None keeps numpy from splitting strings


# -------------------------------------------------------------------- validation helpers
def _checked_tokens(given: Any) -> tuple[str, ...]:
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        raise ConfigError(f"vocabulary: tokens must be a sequence of strings, got {type(given).__name__}")
    tokens: tuple[str, ...] = tuple(given)
    if not tokens:
        raise ConfigError("vocabulary: no tokens")
    not_str = [i for i, t in enumerate(tokens) if not isinstance(t, str)]
    if not_str:
        raise ConfigError(f"vocabulary: tokens must be strings; tokens {not_str[:5]} are not")
    duplicates = {t: [i for i, u in enumerate(tokens) if u == t] for t, n in Counter(tokens).items() if n > 1}
    if duplicates:
        raise ConfigError(f"vocabulary: duplicate tokens (token: indices) {duplicates}")
    return tokens


def _checked_blank_index(blank_index: Any, size: int) -> int:
    if not isinstance(blank_index, (int, np.integer)) or isinstance(blank_index, bool):
        raise ConfigError(f"vocabulary: blank_index must be an integer, got {blank_index!r}")
    if not -size <= int(blank_index) < size:
        raise ConfigError(f"vocabulary: blank_index {blank_index} is out of range for {size} tokens")
    return int(blank_index) % size


def _longest_match(word: str, index: dict[str, int]) -> list[int]:
    longest = max(len(t) for t in index)
    ids, start = [], 0
    while start < len(word):
        for stop in range(min(len(word), start + longest), start, -1):
            if word[start:stop] in index:
                ids.append(index[word[start:stop]])
                start = stop
                break
        else:
            raise DataError(f"text_to_ids: no token spells {word[start:]!r} (in the word {word!r})")
    return ids


# -------------------------------------------------------------------- file helpers
def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"vocabulary file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"vocabulary file {path} cannot be read as UTF-8 text: {error}") from None


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"vocabulary file {path} is not valid JSON: {error}") from None


def _read_json(path: Path) -> Any:
    return _parse_json(_read_text(path), path)


def _tokens_from_id_map(raw: dict[Any, Any], path: Path) -> list[str]:
    """Tokens ordered by id from ``{token: id}``; ids must be exactly 0..n-1."""
    bad = {k: v for k, v in raw.items() if not isinstance(v, int) or isinstance(v, bool)}
    if bad:
        raise ConfigError(f"{path}: a {{token: id}} vocabulary needs integer ids; got {dict(list(bad.items())[:5])}")
    ids = sorted(raw.values())
    if ids != list(range(len(raw))):
        duplicated = sorted(i for i, n in Counter(ids).items() if n > 1)
        missing = sorted(set(range(len(raw))) - set(ids))
        raise ConfigError(
            f"{path}: token ids must be 0..{len(raw) - 1}, each once; "
            f"duplicated {duplicated[:5]}, missing {missing[:5]}"
        )
    return [token for token, _ in sorted(raw.items(), key=lambda item: item[1])]


def _tokens_from_lines(text: str) -> list[str]:
    tokens = []
    for line in text.splitlines():
        if line == "" or line.startswith(_COMMENT):
            continue
        tokens.append(line[1:] if line.startswith("\\" + _COMMENT) else line)
    return tokens


def _build(tokens: list[str], blank: str | int | None, word_delimiter: str | None | _Auto, path: Path) -> Vocabulary:
    """The vocabulary of a file's tokens; every ConfigError names the file."""
    try:
        return _resolve(list(_checked_tokens(tokens)), blank, word_delimiter, path)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _resolve(tokens: list[str], blank: str | int | None, word_delimiter: str | None | _Auto, path: Path) -> Vocabulary:
    if blank is None:
        found = [t for t in _BLANK_CANDIDATES if t in tokens]
        if found:
            blank = found[0]
        else:
            logger.info("%s: no <pad>/<blank> token; appending the CTC blank after the last token", path)
            tokens.append("")
            blank = len(tokens) - 1
    if isinstance(blank, int) and not isinstance(blank, bool) and blank == len(tokens):
        tokens.append("")  # the blank one past the last token: the file omits it (NeMo's convention)
    if isinstance(blank, str):
        if blank not in tokens:
            raise ConfigError(f"blank token {blank!r} is not among the {len(tokens)} tokens")
        blank = tokens.index(blank)
    if word_delimiter is AUTO:
        in_range = isinstance(blank, int) and -len(tokens) <= blank < len(tokens)
        blank_token = tokens[blank] if in_range else None
        word_delimiter = next((t for t in _DELIMITER_CANDIDATES if t in tokens and t != blank_token), None)
    return Vocabulary(tuple(tokens), blank, word_delimiter)
