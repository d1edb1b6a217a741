"""CTC beam search through pyctcdecode, with an optional KenLM n-gram language model (ARPA or binary).

:func:`build_beam_decoder` validates the vocabulary, the language model file and the weights once and returns a
:class:`BeamSearch`; :func:`beam_decode` decodes one ``[T, V]`` utterance, :func:`beam_decode_many` several, in
parallel processes when asked.

Label mapping (what pyctcdecode wants): the blank becomes ``""`` wherever it sits and the word delimiter ``" "``.
Token-level vocabularies (``word_delimiter=None``) are passed in pyctcdecode's word-piece style (each token starts a
word), so the text is the tokens joined by spaces, as greedy decoding gives it, and a language model scores tokens.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from pyctcdecode.decoder import BeamSearchDecoderCTC, build_ctcdecoder
from pyctcdecode.alphabet import BLANK_TOKEN_PTN, BPE_TOKEN
from pyctcdecode.constants import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_HOTWORD_WEIGHT,
    DEFAULT_MIN_TOKEN_LOGP,
    DEFAULT_PRUNE_LOGP,
    DEFAULT_UNK_LOGP_OFFSET,
)

from speechq.decoding._checks import checked_length, checked_rank
from speechq.decoding.vocabulary import Vocabulary
from speechq.errors import ConfigError, DataError, ModelError

__all__ = [
    "BeamSearch",
    "BeamSearchParams",
    "beam_decode",
    "beam_decode_many",
    "build_beam_decoder",
    "pyctcdecode_labels",
    "read_arpa_unigrams",
    "DEFAULT_BEAM_WIDTH",
]

logger = logging.getLogger(__name__)


class _BenignNotes(logging.Filter):
    """Drops two pyctcdecode warnings that say nothing to a speechq user: multi-character labels (speechq maps the
    vocabulary's special tokens itself, see :func:`pyctcdecode_labels`) and a small LM vocabulary."""

    NOTES = ("Found entries of length > 1 in alphabet", "Only %s unigrams passed as vocabulary")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOTES)


for _name in ("pyctcdecode.alphabet", "pyctcdecode.language_model"):
    logging.getLogger(_name).addFilter(_BenignNotes())


@contextlib.contextmanager
def _kenlm_progress_hidden() -> Iterator[None]:
    """Route file descriptor 2 to a discarded temporary file while KenLM loads a model: it prints a progress bar
    there from C++ (its errors reach us as exceptions, with their text)."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as discarded:
        saved = os.dup(2)
        os.dup2(discarded.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)

DEFAULT_BEAM_WIDTH = 64
_ARPA_HEADER = "\\data\\"
_ARPA_HEADER_BYTES = 4096


@dataclass(frozen=True)
class BeamSearchParams:
    """Search settings, validated.

    Attributes:
        beam_width: hypotheses kept per frame (>= 1).
        alpha: language model weight (shallow fusion); beta: word insertion bonus (both ignored without an LM).
        hotwords: words (or phrases) to favour, even out of the LM's vocabulary; hotword_weight: their bonus.
        beam_prune_logp: beams this far (natural log) below the best are dropped (<= 0).
        token_min_logp: tokens below this log-probability are skipped unless they are a frame's best (<= 0).
        unk_score_offset: log score added to words the LM does not know.
    """

    beam_width: int = DEFAULT_BEAM_WIDTH
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    hotwords: tuple[str, ...] = field(default_factory=tuple)
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT
    beam_prune_logp: float = DEFAULT_PRUNE_LOGP
    token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP
    unk_score_offset: float = DEFAULT_UNK_LOGP_OFFSET

    def __post_init__(self) -> None:
        if isinstance(self.beam_width, bool) or not isinstance(self.beam_width, int) or self.beam_width < 1:
            raise ConfigError(f"beam_width must be a positive integer, got {self.beam_width!r}")
        for name in ("alpha", "beta", "hotword_weight", "beam_prune_logp", "token_min_logp", "unk_score_offset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        for name in ("beam_prune_logp", "token_min_logp"):
            if getattr(self, name) > 0:
                raise ConfigError(f"{name} is a log-probability threshold and must be <= 0, got {getattr(self, name)}")
        hotwords = (self.hotwords,) if isinstance(self.hotwords, str) else tuple(self.hotwords)
        bad = [h for h in hotwords if not isinstance(h, str) or not h.strip()]
        if bad:
            raise ConfigError(f"hotwords must be non-empty strings, got {bad[:5]}")
        object.__setattr__(self, "hotwords", hotwords)


@dataclass(frozen=True)
class BeamSearch:
    """A ready pyctcdecode decoder with its vocabulary and settings (build it with :func:`build_beam_decoder`)."""

    vocab: Vocabulary
    params: BeamSearchParams
    decoder: BeamSearchDecoderCTC
    kenlm_model_path: Path | None


def pyctcdecode_labels(vocab: Vocabulary) -> list[str]:
    """pyctcdecode's label list for ``vocab``: blank -> ``""``, word delimiter -> ``" "``, at their own indices.

    Without a word delimiter every non-blank token gets pyctcdecode's word-start mark, so each token is a word.

    Raises:
        ConfigError: the labels would be ambiguous for pyctcdecode (a space token besides another delimiter, a
            non-blank token it would take for a blank such as ``<pad>``, or spaces inside word-piece tokens).
    """
    labels = []
    for index, token in enumerate(vocab.tokens):
        if index == vocab.blank_index:
            labels.append("")
        elif vocab.word_delimiter is None:
            if any(c.isspace() for c in token) or token.startswith(BPE_TOKEN):
                raise ConfigError(
                    f"token {index} {token!r}: token-level beam search cannot take spaces or {BPE_TOKEN!r}"
                )
            labels.append(BPE_TOKEN + token)
        elif token == vocab.word_delimiter:
            labels.append(" ")
        elif token == " " or BLANK_TOKEN_PTN.match(token) or token == "_":
            raise ConfigError(
                f"token {index} {token!r} is not the blank nor the word delimiter, but pyctcdecode would read it as one"
            )
        else:
            labels.append(token)
    return labels


def labels_in_case_of(labels: Sequence[str], words: Sequence[str]) -> list[str]:
    """``labels`` with their letters in the case of the language model's ``words`` when the two disagree.

    A vocabulary that spells in capitals (Hugging Face's Wav2Vec2) and an LM of lower-case words (or the reverse)
    would never match a word; only the labels given to pyctcdecode change, so the text comes out in the LM's case
    (error rates ignore case). Labels or words of mixed case are left as they are.
    """
    letters = "".join(label for label in labels if len(label) == 1 and label.isalpha())
    lm_letters = "".join(c for word in words for c in word if c.isalpha())
    if not letters or not lm_letters:
        return list(labels)
    if letters.isupper() and lm_letters.islower():
        change = str.lower
    elif letters.islower() and lm_letters.isupper():
        change = str.upper
    else:
        return list(labels)
    logger.info("beam search: the vocabulary's letters are given to pyctcdecode in the language model's case")
    return [change(label) if len(label) == 1 and label.isalpha() else label for label in labels]


def read_arpa_unigrams(path: Path) -> list[str]:
    """Words of an ARPA file's ``\\1-grams:`` section (``<s>``, ``</s>``, ``<unk>`` excluded), in file order.

    Raises:
        ModelError: the file cannot be read or has no unigrams.
    """
    words: list[str] = []
    try:
        with open(path, encoding="utf-8") as handle:
            in_unigrams = False
            for line in handle:
                line = line.strip()
                if line == "\\1-grams:":
                    in_unigrams = True
                elif in_unigrams and (line.startswith("\\") or line == ""):
                    if words or line.startswith("\\"):
                        break
                elif in_unigrams:
                    parts = line.split()
                    if len(parts) >= 2 and parts[1] not in ("<s>", "</s>", "<unk>"):
                        words.append(parts[1])
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"language model {path}: cannot read it as ARPA text: {error}") from None
    if not words:
        raise ModelError(f"language model {path}: no words in its \\1-grams: section")
    return words


def build_beam_decoder(
    vocab: Vocabulary,
    kenlm_model_path: str | Path | None = None,
    params: BeamSearchParams | None = None,
    unigrams: Sequence[str] | None = None,
) -> BeamSearch:
    """Validate everything and build pyctcdecode's decoder (loading the language model once).

    pyctcdecode keeps the loaded model in a class-level registry; ``search.decoder.cleanup()`` frees it.

    Args:
        vocab: the model's vocabulary (any blank index).
        kenlm_model_path: a KenLM model, ARPA text or KenLM binary; ``None`` for no language model.
        params: search settings (defaults: :class:`BeamSearchParams`).
        unigrams: the LM's words; read from the file for ARPA, recommended for binary models (without them
            pyctcdecode cannot tell partial words from unknown ones).

    Raises:
        ConfigError: ambiguous labels (see :func:`pyctcdecode_labels`), ``unigrams`` without a model.
        ModelError: the language model file is missing or KenLM cannot load it.
    """
    params = params or BeamSearchParams()
    labels = pyctcdecode_labels(vocab)
    path = None if kenlm_model_path is None else Path(kenlm_model_path)
    if path is None and unigrams is not None:
        raise ConfigError("unigrams were given without a language model (kenlm_model_path)")
    if path is not None:
        if not path.is_file():
            raise ModelError(f"language model {path} does not exist")
        if unigrams is None and _is_arpa(path):
            unigrams = read_arpa_unigrams(path)
        elif unigrams is None:
            logger.warning(
                "language model %s is binary and no unigrams were given: partial words are scored as unknown", path
            )
    if unigrams is not None:
        labels = labels_in_case_of(labels, unigrams)
    with _kenlm_progress_hidden():
        try:
            decoder = build_ctcdecoder(
                labels,
                kenlm_model_path=None if path is None else str(path),
                unigrams=None if unigrams is None else list(unigrams),
                alpha=params.alpha,
                beta=params.beta,
                unk_score_offset=params.unk_score_offset,
            )
        except (OSError, RuntimeError) as error:  # kenlm's loader raises these for unreadable models
            raise ModelError(f"language model {path}: KenLM cannot load it: {error}") from None
    return BeamSearch(vocab, params, decoder, path)


def beam_decode(search: BeamSearch, logits: NDArray[Any], valid_length: int | None = None) -> str:
    """Best beam's text for one utterance.

    Args:
        search: from :func:`build_beam_decoder`.
        logits: ``[T, V]`` probabilities, log-probabilities or logits (pyctcdecode takes rows summing to 1 as
            probabilities and log-softmaxes anything else).
        valid_length: frames to decode, ``None`` for all.

    Raises:
        DataError: bad rank or length. ModelError: ``V != len(vocab)``.
    """
    return beam_decode_many(search, [logits], None if valid_length is None else [valid_length])[0]


def beam_decode_many(
    search: BeamSearch,
    logits: Sequence[NDArray[Any]],
    valid_lengths: Sequence[int | None] | None = None,
    num_workers: int = 1,
) -> list[str]:
    """Best beam's text for each utterance; with ``num_workers > 1``, in a pool of forked processes.

    Args:
        search: from :func:`build_beam_decoder`.
        logits: ``N`` arrays ``[T_i, V]``.
        valid_lengths: ``N`` frame counts (``None`` entries: all frames), or ``None``.
        num_workers: processes (1: in this process). The pool lives for this call only, so it pays off for
            many utterances at once, not for one batch of one.

    Raises:
        DataError: bad rank or lengths. ModelError: ``V != len(vocab)``. ConfigError: ``num_workers < 1``.
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(f"num_workers must be a positive integer, got {num_workers!r}")
    lengths: list[int | None] = [None] * len(logits) if valid_lengths is None else list(valid_lengths)
    if len(lengths) != len(logits):
        raise DataError(f"valid_lengths has {len(lengths)} entries for {len(logits)} utterances")
    items: list[NDArray[Any]] = [
        _prepared(search.vocab, item, length, index) for index, (item, length) in enumerate(zip(logits, lengths))
    ]
    options: dict[str, Any] = dict(
        beam_width=search.params.beam_width,
        beam_prune_logp=search.params.beam_prune_logp,
        token_min_logp=search.params.token_min_logp,
        hotwords=list(search.params.hotwords) or None,
        hotword_weight=search.params.hotword_weight,
    )
    texts = [""] * len(items)
    todo = [i for i, item in enumerate(items) if item.shape[0]]  # zero frames decode to "" (pyctcdecode fails)
    workers = min(num_workers, len(todo))
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            decoded = search.decoder.decode_batch(pool, [items[i] for i in todo], **options)  # type: ignore[arg-type]
    else:
        decoded = [search.decoder.decode(items[i], **options) for i in todo]
    for index, text in zip(todo, decoded):
        texts[index] = " ".join(text.split())  # pyctcdecode's word-piece mode may leave edge spaces
    return texts


def _prepared(vocab: Vocabulary, logits: NDArray[Any], valid_length: int | None, index: int) -> NDArray[np.float32]:
    array = checked_rank(logits, 2, "[T, V]")
    vocab.check_output_size(array.shape[-1], f"beam search logits of utterance {index}")
    return np.ascontiguousarray(array[: checked_length(valid_length, array.shape[0])], dtype=np.float32)


def _is_arpa(path: Path) -> bool:
    """True when the file starts (after blank lines) with ARPA's ``\\data\\`` header."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_ARPA_HEADER_BYTES)
    except OSError as error:
        raise ModelError(f"language model {path}: cannot read it: {error}") from None
    return head.lstrip().startswith(_ARPA_HEADER.encode())
