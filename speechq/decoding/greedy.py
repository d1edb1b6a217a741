"""Greedy (best-path) CTC decoding: argmax per frame, collapse repeats, drop blanks. Vectorised numpy.

Inputs may be probabilities, log-probabilities or raw logits: the argmax is the same for all three. Ties go to the
lowest index (``numpy.argmax``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from speechq.decoding._checks import Lengths, checked_length, checked_lengths, checked_rank
from speechq.decoding.vocabulary import Vocabulary

__all__ = [
    "collapse_ctc_path",
    "greedy_decode",
    "greedy_decode_batch",
    "greedy_decode_batch_ids",
    "greedy_decode_ids",
    "StreamingGreedyDecoder",
    "TokenIds",
]

TokenIds = NDArray[np.int64]
"""``[N]`` int64 token ids."""


def collapse_ctc_path(path: NDArray[np.integer[Any]], blank_index: int, previous: int | None = None) -> TokenIds:
    """Token ids of a best path: consecutive repeats merged, then blanks removed.

    Args:
        path: ``[T]`` integer ids, one per frame.
        blank_index: the blank's id.
        previous: id of the frame just before ``path`` (streaming), or ``None`` at the start of an utterance.

    Returns:
        ``[N]`` int64 token ids, ``N <= T``.
    """
    ids: TokenIds = np.asarray(path, dtype=np.int64)
    if ids.size == 0:
        return ids
    before = np.empty_like(ids)
    before[0] = -1 if previous is None else previous
    before[1:] = ids[:-1]
    kept: TokenIds = ids[(ids != before) & (ids != blank_index)]
    return kept


def greedy_decode_ids(logits: NDArray[Any], blank_index: int, valid_length: int | None = None) -> TokenIds:
    """Token ids of one utterance's best path.

    Args:
        logits: ``[T, V]`` float scores per frame (probabilities, log-probabilities or logits).
        blank_index: the blank's id in ``[0, V)``.
        valid_length: frames to decode (the first ``valid_length``), ``None`` for all ``T``.

    Returns:
        ``[N]`` int64 token ids, no blanks.

    Raises:
        DataError: ``logits`` is not 2-D, or ``valid_length`` is outside ``[0, T]``.
    """
    logits = checked_rank(logits, 2, "[T, V]")
    frames = checked_length(valid_length, logits.shape[0])
    if frames == 0:
        return np.empty(0, dtype=np.int64)
    return collapse_ctc_path(logits[:frames].argmax(axis=-1), blank_index)


def greedy_decode(logits: NDArray[Any], vocab: Vocabulary, valid_length: int | None = None) -> str:
    """Text of one utterance's best path.

    Args:
        logits: ``[T, V]`` with ``V == len(vocab)``.
        vocab: the model's vocabulary.
        valid_length: frames to decode, ``None`` for all.

    Raises:
        DataError: bad rank or length. ModelError: ``V != len(vocab)``.
    """
    logits = checked_rank(logits, 2, "[T, V]")
    vocab.check_output_size(logits.shape[-1], "greedy_decode logits")
    return vocab.tokens_to_text(greedy_decode_ids(logits, vocab.blank_index, valid_length))


def greedy_decode_batch_ids(
    logits: NDArray[Any], blank_index: int, valid_lengths: Lengths = None
) -> list[TokenIds]:
    """Token ids of each item's best path, in one vectorised pass.

    Args:
        logits: ``[B, T, V]`` float scores.
        blank_index: the blank's id.
        valid_lengths: ``B`` frame counts (``None`` entries mean all ``T``), or ``None`` for all ``T`` everywhere.

    Returns:
        ``B`` int64 arrays of token ids.

    Raises:
        DataError: ``logits`` is not 3-D, or the lengths are not ``B`` values in ``[0, T]``.
    """
    logits = checked_rank(logits, 3, "[B, T, V]")
    batch, frames = logits.shape[:2]
    lengths = checked_lengths(valid_lengths, batch, frames)
    if frames == 0:
        return [np.empty(0, dtype=np.int64) for _ in range(batch)]
    path = logits.argmax(axis=-1)
    before = np.empty_like(path)
    before[:, 0] = -1
    before[:, 1:] = path[:, :-1]
    keep = (path != before) & (path != blank_index) & (np.arange(frames)[np.newaxis, :] < lengths[:, np.newaxis])
    return [path[b][keep[b]].astype(np.int64, copy=False) for b in range(batch)]


def greedy_decode_batch(
    logits: NDArray[Any], vocab: Vocabulary, valid_lengths: Lengths = None
) -> list[str]:
    """Text of each item of a ``[B, T, V]`` batch (see :func:`greedy_decode_batch_ids`).

    Raises:
        DataError: bad rank or lengths. ModelError: ``V != len(vocab)``.
    """
    logits = checked_rank(logits, 3, "[B, T, V]")
    vocab.check_output_size(logits.shape[-1], "greedy_decode_batch logits")
    return [vocab.tokens_to_text(ids) for ids in greedy_decode_batch_ids(logits, vocab.blank_index, valid_lengths)]


class StreamingGreedyDecoder:
    """Greedy decoding of an utterance that arrives chunk by chunk.

    The last frame's argmax is carried across chunks, so a token repeated over a chunk boundary collapses exactly
    as it would in :func:`greedy_decode` of the whole utterance: for any chunking, ``finish()`` equals
    ``greedy_decode(concatenated logits, vocab)``.

    Example::

        decoder = StreamingGreedyDecoder(Vocabulary.deepspeech())
        for chunk in chunks:          # each [t, 29]
            decoder.push(chunk)
            partial = decoder.text
        text = decoder.finish()       # and ready for the next utterance
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._ids: list[TokenIds] = []
        self._last: int | None = None
        self._frames = 0

    def push(self, logits_chunk: NDArray[Any]) -> None:
        """Decode the next ``[t, V]`` frames (``t`` may be 0).

        Raises:
            DataError: the chunk is not 2-D. ModelError: ``V != len(vocab)``.
        """
        chunk = checked_rank(logits_chunk, 2, "[t, V]")
        self.vocab.check_output_size(chunk.shape[-1], "StreamingGreedyDecoder chunk")
        if chunk.shape[0] == 0:
            return
        path = chunk.argmax(axis=-1)
        self._ids.append(collapse_ctc_path(path, self.vocab.blank_index, self._last))
        self._last = int(path[-1])
        self._frames += chunk.shape[0]

    @property
    def frames(self) -> int:
        """Frames pushed since the last reset."""
        return self._frames

    @property
    def token_ids(self) -> TokenIds:
        """``[N]`` int64 token ids decoded so far."""
        return np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.int64)

    @property
    def text(self) -> str:
        """Text decoded so far (a later chunk may still extend its last word)."""
        return self.vocab.tokens_to_text(self.token_ids)

    def finish(self) -> str:
        """The utterance's text; the decoder is then reset for the next utterance."""
        text = self.text
        self.reset()
        return text

    def reset(self) -> None:
        """Forget the current utterance."""
        self._ids = []
        self._last = None
        self._frames = 0
