"""CTC decoders as engine post-processing hooks: ``decoder(outputs, metadata) -> one text per batch item``.

An engine calls ``postprocess(outputs, metadata)`` with the model outputs of one batch (``{name: array}``) and the
batch's metadata (one dict per sample). A decoder picks the logits output, puts it batch-major according to its
``layout``, trims each item to its ``"valid_length"`` (output frames, when the metadata gives one) and decodes.

Layouts: ``"BTV"`` (batch, time, vocabulary; Wav2Vec2's ``[1, T, V]``), ``"TBV"`` (time-major; DeepSpeech's
``[T, 1, 29]``), ``"TV"`` (one utterance without a batch axis).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, Union, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from speechq.decoding.beam import DEFAULT_BEAM_WIDTH, BeamSearch, BeamSearchParams, beam_decode_many, build_beam_decoder
from speechq.decoding.greedy import greedy_decode_batch
from speechq.decoding.language_model import find_language_model
from speechq.decoding.vocabulary import Vocabulary
from speechq.errors import ConfigError, DataError, ModelError

__all__ = [
    "CTCDecoder",
    "GreedyCTCDecoder",
    "BeamSearchCTCDecoder",
    "decoder_for",
    "LAYOUTS",
    "VALID_LENGTH_KEY",
    "Outputs",
    "Metadata",
    "select_logits",
    "to_batch_major",
    "model_lengths",
    "valid_lengths_from_metadata",
]

LAYOUTS = ("BTV", "TBV", "TV")
"""Axis orders a decoder accepts for its logits output."""

VALID_LENGTH_KEY = "valid_length"
"""Metadata key: the number of valid output frames of a sample (frames past it are padding)."""

Outputs = Union[Mapping[str, NDArray[Any]], Sequence[NDArray[Any]], NDArray[Any]]
"""One batch of model outputs: by name (what engines pass), in output order, or the logits array alone."""

Metadata = Union[Sequence[Mapping[str, Any]], Mapping[str, Any], None]
"""One dict per sample (what engines pass), one dict for the batch, or nothing."""


@runtime_checkable
class CTCDecoder(Protocol):
    """Anything that turns one batch of CTC model outputs into one text per batch item."""

    def __call__(self, outputs: Outputs, metadata: Metadata = None) -> list[str]: ...


# -------------------------------------------------------------------- pure helpers
def select_logits(
    outputs: Outputs, logits_output: str | int | None, vocab_size: int, rank: int
) -> tuple[str, NDArray[Any]]:
    """The logits output of a batch: ``(name, array)``.

    Args:
        outputs: ``{name: array}``, a list of arrays in output order, or one array.
        logits_output: the output's name (dict) or position (list); ``None``: the first output whose rank is
            ``rank`` and whose last axis has ``vocab_size`` entries.
        vocab_size: the vocabulary's size. rank: the rank the layout expects.

    Raises:
        ModelError: the named output does not exist, or (``None``) no output looks like logits.
        ConfigError: a name for a list of outputs, or a position out of range.
    """
    named = _named(outputs)
    if logits_output is None:
        for name, array in named.items():
            if array.ndim == rank and array.shape[-1] == vocab_size:
                return name, array
        shapes = {name: array.shape for name, array in named.items()}
        raise ModelError(
            f"no model output looks like CTC logits of rank {rank} over {vocab_size} symbols; outputs: {shapes}. "
            "Check the vocabulary and layout, or name the output with logits_output"
        )
    if isinstance(logits_output, str):
        if not isinstance(outputs, Mapping):
            raise ConfigError(f"logits_output {logits_output!r} is a name, but the outputs arrived as a list")
        if logits_output not in named:
            raise ModelError(f"logits_output {logits_output!r} is not a model output; outputs are {list(named)}")
        return logits_output, named[logits_output]
    keys = list(named)
    if not -len(keys) <= logits_output < len(keys):
        raise ConfigError(f"logits_output {logits_output} is out of range for {len(keys)} outputs")
    return keys[logits_output], named[keys[logits_output]]


def to_batch_major(logits: NDArray[Any], layout: str, where: str) -> NDArray[Any]:
    """``[B, T, V]`` view of ``logits`` given in ``layout`` (``"BTV"``, ``"TBV"`` or ``"TV"``).

    Raises:
        DataError: the rank does not match the layout.
    """
    rank = len(layout)
    if logits.ndim != rank:
        raise DataError(f"{where}: layout {layout!r} needs a {rank}-D output, got shape {logits.shape}")
    if layout == "TBV":
        return logits.transpose(1, 0, 2)
    if layout == "TV":
        return logits[np.newaxis]
    return logits


def valid_lengths_from_metadata(metadata: Metadata, batch: int) -> list[int | None]:
    """Each sample's ``valid_length`` (output frames) from the batch metadata, ``None`` where not given.

    A single dict describes a batch of one; for a larger batch its ``valid_length`` is one value for all items
    or a sequence of ``batch`` values.

    Raises:
        DataError: a list of the wrong length, an entry that is not a dict, or a length sequence of the wrong size.
    """
    if metadata is None:
        return [None] * batch
    if isinstance(metadata, Mapping):
        length = metadata.get(VALID_LENGTH_KEY)
        if batch == 1 or length is None or np.ndim(length) == 0:
            return [length] * batch
        values: list[Any] = list(np.asarray(length).reshape(-1))
        if len(values) != batch:
            raise DataError(f"metadata {VALID_LENGTH_KEY!r} has {len(values)} values for a batch of {batch}")
        return values
    entries = list(metadata)
    if len(entries) != batch:
        raise DataError(f"metadata has {len(entries)} entries for a batch of {batch} (one dict per sample)")
    lengths: list[int | None] = []
    for index, entry in enumerate(entries):
        if entry is not None and not isinstance(entry, Mapping):
            raise DataError(f"metadata entry {index} must be a dict, got {type(entry).__name__}")
        lengths.append(None if entry is None else entry.get(VALID_LENGTH_KEY))
    return lengths


def _named(outputs: Outputs) -> dict[str, NDArray[Any]]:
    if isinstance(outputs, Mapping):
        return {str(name): np.asarray(array) for name, array in outputs.items()}
    if isinstance(outputs, np.ndarray):
        return {"output_0": outputs}
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Sequence):
        raise DataError(f"model outputs must be a dict, a list of arrays or an array, got {type(outputs).__name__}")
    return {f"output_{i}": np.asarray(array) for i, array in enumerate(outputs)}


# -------------------------------------------------------------------- decoders
def model_lengths(outputs: Outputs, lengths_output: str, batch: int, frames: int) -> list[int]:
    """Each item's valid output frames from the model's own output-lengths tensor (``[B]`` or ``[B, 1]``
    integers), capped at ``frames``.

    Raises:
        ModelError: no output of that name. DataError: not ``batch`` integers, or a negative one.
    """
    named = _named(outputs)
    if lengths_output not in named:
        raise ModelError(f"lengths_output {lengths_output!r} is not a model output; outputs are {list(named)}")
    values = np.asarray(named[lengths_output]).reshape(-1)
    if values.size != batch or not np.issubdtype(values.dtype, np.integer) or (values < 0).any():
        raise DataError(f"model output {lengths_output!r} must hold {batch} non-negative integer frame counts, got "
                        f"{values.tolist()[:5]} ({values.dtype})")
    return [min(int(v), frames) for v in values]


class _LogitsDecoder:
    """Holds the vocabulary, layout and output choice; turns a batch into ``([B, T, V], lengths)``."""

    def __init__(self, vocab: Vocabulary, layout: str, logits_output: str | int | None,
                 lengths_output: str | None = None) -> None:
        if not isinstance(vocab, Vocabulary):
            raise ConfigError(f"vocab must be a speechq Vocabulary, got {type(vocab).__name__}")
        if layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if logits_output is not None and (isinstance(logits_output, bool) or not isinstance(logits_output, (str, int))):
            raise ConfigError(f"logits_output must be an output name, an output index or None, got {logits_output!r}")
        if lengths_output is not None and not isinstance(lengths_output, str):
            raise ConfigError(f"lengths_output must be an output name or None, got {lengths_output!r}")
        self.vocab = vocab
        self.layout = layout
        self.logits_output = logits_output
        self.lengths_output = lengths_output

    def batch_logits(self, outputs: Outputs, metadata: Metadata) -> tuple[NDArray[Any], list[int | None]]:
        """``([B, T, V] logits, B valid lengths)`` of one batch.

        Raises:
            ModelError: no logits output, or its size differs from the vocabulary. DataError: bad rank/metadata.
        """
        name, array = select_logits(outputs, self.logits_output, self.vocab.size, len(self.layout))
        self.vocab.check_output_size(array.shape[-1] if array.ndim else 0, f"model output {name!r}")
        logits = to_batch_major(array, self.layout, f"model output {name!r}")
        lengths = valid_lengths_from_metadata(metadata, logits.shape[0])
        if self.lengths_output is None:
            return logits, lengths
        bounds = model_lengths(outputs, self.lengths_output, logits.shape[0], logits.shape[1])
        return logits, [bound if given is None else min(int(given), bound) for given, bound in zip(lengths, bounds)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vocab.size} symbols, layout={self.layout!r})"


class GreedyCTCDecoder(_LogitsDecoder):
    """Greedy CTC decoding of a batch (see :func:`~speechq.decoding.greedy.greedy_decode_batch`).

    Args:
        vocab: the model's vocabulary.
        layout: ``"BTV"``, ``"TBV"`` or ``"TV"`` (see the module docstring).
        logits_output: the logits output's name or index; ``None``: the first output that fits the vocabulary.
        lengths_output: an output holding each item's valid frame count (``[B]`` integers), which bounds decoding.

    Raises:
        ConfigError: unknown layout or bad arguments.
    """

    def __init__(self, vocab: Vocabulary, layout: str = "BTV", logits_output: str | int | None = None,
                 lengths_output: str | None = None) -> None:
        super().__init__(vocab, layout, logits_output, lengths_output)

    def __call__(self, outputs: Outputs, metadata: Metadata = None) -> list[str]:
        logits, lengths = self.batch_logits(outputs, metadata)
        return greedy_decode_batch(logits, self.vocab, lengths)

    @property
    def description(self) -> str:
        """How it decodes, in words (for reports)."""
        return "greedy"


class BeamSearchCTCDecoder(_LogitsDecoder):
    """Beam search (pyctcdecode), optionally with a KenLM language model, over each item of a batch.

    Args:
        vocab: the model's vocabulary.
        layout: ``"BTV"``, ``"TBV"`` or ``"TV"``.
        logits_output: the logits output's name or index; ``None``: the first output that fits the vocabulary.
        kenlm_model_path: ARPA or KenLM binary file, or ``None`` for no language model.
        alpha, beta: LM weight and word insertion bonus. beam_width: beams kept per frame.
        hotwords, hotword_weight: words to favour and their bonus.
        num_workers: processes decoding a batch's items in parallel (1: in this process).
        lengths_output: an output holding each item's valid frame count (``[B]`` integers), which bounds decoding.

    For every pyctcdecode setting (pruning thresholds, unknown-word offset, unigrams of a binary LM), build a
    :class:`~speechq.decoding.beam.BeamSearch` with :func:`~speechq.decoding.beam.build_beam_decoder` and use
    :meth:`from_search`.

    Raises:
        ConfigError: bad settings. ModelError: the language model is missing or unreadable.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        layout: str = "BTV",
        logits_output: str | int | None = None,
        *,
        kenlm_model_path: str | Path | None = None,
        alpha: float = BeamSearchParams.alpha,
        beta: float = BeamSearchParams.beta,
        beam_width: int = DEFAULT_BEAM_WIDTH,
        hotwords: Sequence[str] = (),
        hotword_weight: float = BeamSearchParams.hotword_weight,
        num_workers: int = 1,
        lengths_output: str | None = None,
    ) -> None:
        super().__init__(vocab, layout, logits_output, lengths_output)
        params = BeamSearchParams(
            beam_width=beam_width, alpha=alpha, beta=beta, hotwords=tuple(hotwords), hotword_weight=hotword_weight
        )
        self.search = build_beam_decoder(vocab, kenlm_model_path, params)
        self.num_workers = _checked_workers(num_workers)

    @classmethod
    def from_search(
        cls, search: BeamSearch, layout: str = "BTV", logits_output: str | int | None = None, num_workers: int = 1,
        lengths_output: str | None = None,
    ) -> BeamSearchCTCDecoder:
        """A decoder around an already built :class:`~speechq.decoding.beam.BeamSearch`."""
        decoder = cls.__new__(cls)
        _LogitsDecoder.__init__(decoder, search.vocab, layout, logits_output, lengths_output)
        decoder.search = search
        decoder.num_workers = _checked_workers(num_workers)
        return decoder

    def __call__(self, outputs: Outputs, metadata: Metadata = None) -> list[str]:
        logits, lengths = self.batch_logits(outputs, metadata)
        return beam_decode_many(self.search, list(logits), lengths, self.num_workers)

    @property
    def description(self) -> str:
        """How it decodes, in words (for reports): beam width, and the language model with its weights."""
        text = f"beam search (width {self.search.params.beam_width})"
        if self.search.kenlm_model_path is None:
            return text + ", no language model"
        return (f"{text} with language model {self.search.kenlm_model_path} (alpha {self.search.params.alpha:g}, "
                f"beta {self.search.params.beta:g})")


def _checked_workers(num_workers: object) -> int:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigError(f"num_workers must be a positive integer, got {num_workers!r}")
    return num_workers


def decoder_for(
    vocab: Vocabulary,
    layout: str = "BTV",
    decoder: str = "auto",
    *,
    lm_path: str | Path | None = None,
    model_path: str | Path | None = None,
    beam_width: int = DEFAULT_BEAM_WIDTH,
    logits_output: str | int | None = None,
    lengths_output: str | None = None,
) -> GreedyCTCDecoder | BeamSearchCTCDecoder:
    """The CTC decoder a model asks for.

    ``decoder``: ``"greedy"``; ``"beam"``: beam search with the KenLM model ``lm_path``, else the model's own
    language model (the ``language_model/`` folder beside ``model_path``, with its weights: see
    :mod:`speechq.decoding.language_model`), else none; ``"auto"`` (the default): beam search when there is a
    language model (``lm_path`` or the model's own), greedy otherwise.

    Raises:
        ConfigError: an unknown ``decoder``, ``lm_path`` with ``"greedy"``, a malformed ``language_model/`` folder.
        ModelError: KenLM cannot load the language model.
    """
    if decoder not in ("auto", "greedy", "beam"):
        raise ConfigError(f"decoder must be 'auto', 'greedy' or 'beam', got {decoder!r}")
    if decoder == "greedy" and lm_path is not None:
        raise ConfigError("a language model (--lm) needs beam search (decoder 'beam' or 'auto')")
    own = find_language_model(model_path) if decoder != "greedy" and lm_path is None else None
    if decoder == "greedy" or (decoder == "auto" and lm_path is None and own is None):
        return GreedyCTCDecoder(vocab, layout, logits_output, lengths_output)
    if own is not None:
        return BeamSearchCTCDecoder.from_search(own.beam_search(vocab, beam_width), layout, logits_output,
                                                lengths_output=lengths_output)
    return BeamSearchCTCDecoder(vocab, layout, logits_output, kenlm_model_path=lm_path, beam_width=beam_width,
                                lengths_output=lengths_output)
