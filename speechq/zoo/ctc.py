"""The generic CTC recipe: any CTC speech model, described by its file, its vocabulary and a few options.

What speechq reads from the model, all checked before the first inference (``ModelError`` naming the input or
output):

- one floating-point **signal input**: a raw waveform ``[batch, samples]`` or ``[batch, 1, samples]`` (samples
  dynamic), or precomputed
  features ``[batch, frames, bins]`` / ``[batch, bins, frames]`` (bins static, frames dynamic), which speechq computes
  as a log-mel spectrogram with that many mel bands (:class:`speechq.features.LogMelFeatures`);
- optionally integer **lengths inputs** ``[batch]`` (or ``[batch, 1]``), which the engine fills with the signal's
  length (samples, or frames);
- one floating-point **output over the vocabulary**: logits, log-probabilities or probabilities (the decoders take
  any of them), ``[batch, frames, V]`` (``BTV``) or ``[frames, batch, V]`` (``TBV``);
- optionally an integer **output-lengths** tensor ``[batch]``, which bounds decoding.

The vocabulary comes from a file (JSON list, Hugging Face ``vocab.json``, or one token per line; see
:meth:`speechq.decoding.Vocabulary.from_file`), by default ``vocab.json`` beside the model. Error rates are over
words (WER and CER) when the vocabulary has a word delimiter, else over tokens (phonemes: token error rate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, cast

import openvino as ov

from speechq.decoding.vocabulary import AUTO, Vocabulary, _Auto
from speechq.errors import ConfigError, ModelError
from speechq.model import load_model
from speechq.zoo.specs import TRANSFORMER_QUANTIZATION_DEFAULTS, RecipeSpec

__all__ = ["CTCInterface", "ctc_recipe", "find_ctc_interface"]

logger = logging.getLogger(__name__)

DEFAULT_VOCABULARY_FILE = "vocab.json"
UNITS = ("word", "token")
LAYOUTS = ("BTV", "TBV")


@dataclass(frozen=True)
class CTCInterface:
    """How speechq feeds a CTC model and reads it.

    Attributes:
        signal_input: the input speechq feeds; signal: ``"waveform"`` or ``"features"``.
        feature_bins / feature_layout: for features, the number of mel bands and ``"TF"`` (``[batch, frames,
            bins]``) or ``"FT"`` (``[batch, bins, frames]``); None for a waveform.
        lengths_inputs: ``{input: (signal input, axis)}`` the engine fills.
        logits_output / layout: the output decoded, ``"BTV"`` or ``"TBV"``; lengths_output: the output bounding
            each item's frames, or None.
    """

    signal_input: str
    signal: str
    feature_bins: int | None
    feature_layout: str | None
    lengths_inputs: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    logits_output: str = "logits"
    layout: str = "BTV"
    lengths_output: str | None = None

    def describe(self) -> str:
        signal = (f"waveform input {self.signal_input!r}" if self.signal == "waveform" else
                  f"features input {self.signal_input!r} ({self.feature_bins} log-mel bands, {self.feature_layout})")
        lengths = "".join(f", lengths input {n!r}" for n in self.lengths_inputs)
        bound = f", output lengths {self.lengths_output!r}" if self.lengths_output else ""
        return f"{signal}{lengths}; CTC output {self.logits_output!r} ({self.layout}){bound}"


def _name(port: ov.Output | ov.Input, index: int, kind: str) -> str:
    names = port.get_names()
    if not names:
        raise ModelError(f"{kind} {index} of the model has no tensor name; speechq addresses inputs and outputs by name")
    return cast(str, port.get_any_name())


def _is_lengths(port: ov.Output) -> bool:
    shape = port.get_partial_shape()
    return cast(bool, port.get_element_type().is_integral() and shape.rank.is_static and shape.rank.get_length() <= 2)


def _signal(port: ov.Output, name: str, where: str) -> tuple[str, int | None, str | None, int]:
    """(signal kind, feature bins, feature layout, time axis) of the signal input."""
    shape = port.get_partial_shape()
    rank = shape.rank.get_length() if shape.rank.is_static else -1
    if rank == 2:
        if shape[1].is_static:
            raise ModelError(f"{where}: waveform input {name!r} has a fixed length ({shape}); speechq feeds whole "
                             "utterances: export it with a dynamic number of samples")
        return "waveform", None, None, 1
    if rank == 3 and shape[1].is_static and shape[1].get_length() == 1 and shape[2].is_dynamic:
        return "waveform", None, None, 2  # [batch, 1, samples]
    if rank == 3:
        static = [axis for axis in (1, 2) if shape[axis].is_static]
        if len(static) == 1:
            bins = shape[static[0]].get_length()
            return "features", bins, "TF" if static[0] == 2 else "FT", 3 - static[0]
    raise ModelError(f"{where}: input {name!r} {shape} is neither a waveform [batch, samples] nor features "
                     "[batch, frames, bins] / [batch, bins, frames] with a static number of bins")


def _inputs(model: ov.Model, where: str) -> tuple[str, str, int | None, str | None, dict[str, tuple[str, int]]]:
    lengths: list[tuple[str, ov.Output]] = []
    signals: list[tuple[str, ov.Output]] = []
    for index, port in enumerate(model.inputs):
        name = _name(port, index, "input")
        (lengths if _is_lengths(port) else signals).append((name, port))
    if len(signals) != 1 or not signals[0][1].get_element_type().is_real():
        described = {_name(p, i, "input"): f"{p.get_partial_shape()} {p.get_element_type().get_type_name()}"
                     for i, p in enumerate(model.inputs)}
        raise ModelError(f"{where}: the ctc recipe feeds one floating-point signal input (waveform or features) and "
                         f"integer lengths inputs; the model has {described}")
    name, port = signals[0]
    kind, bins, layout, time_axis = _signal(port, name, where)
    return name, kind, bins, layout, {length: (name, time_axis) for length, _ in lengths}


def _logits_output(model: ov.Model, where: str, vocabulary_size: int) -> ov.Output:
    candidates = [p for p in model.outputs if p.get_element_type().is_real() and p.get_partial_shape().rank.is_static
                  and p.get_partial_shape().rank.get_length() == 3]
    sized = [p for p in candidates if p.get_partial_shape()[2].is_static
             and p.get_partial_shape()[2].get_length() == vocabulary_size]
    dynamic = [p for p in candidates if p.get_partial_shape()[2].is_dynamic]
    if sized or dynamic:
        return (sized or dynamic)[0]
    outputs = {_name(p, i, "output"): str(p.get_partial_shape()) for i, p in enumerate(model.outputs)}
    raise ModelError(f"{where}: no floating-point output [batch, frames, {vocabulary_size}] or [frames, batch, "
                     f"{vocabulary_size}] for the vocabulary's {vocabulary_size} symbols; outputs: {outputs}. Check "
                     "the vocabulary file and --blank (a blank missing from the file is added after the last token)")


def _layout(port: ov.Output, given: str | None) -> str:
    if given is not None:
        if given not in LAYOUTS:
            raise ConfigError(f"layout must be one of {list(LAYOUTS)}, got {given!r}")
        return given
    shape = port.get_partial_shape()
    time_major = shape[1].is_static and shape[1].get_length() == 1 and not (shape[0].is_static and shape[0].get_length() == 1)
    return "TBV" if time_major else "BTV"


def find_ctc_interface(model: ov.Model, where: str, vocabulary_size: int, layout: str | None = None) -> CTCInterface:
    """Read the signal input, lengths inputs, CTC output and output lengths of ``model`` (see the module docstring).

    Args:
        where: the model's path, for messages. vocabulary_size: symbols per frame, blank included.
        layout: ``"BTV"`` or ``"TBV"``; None: ``TBV`` when the output is ``[frames, 1, V]``, else ``BTV``.

    Raises:
        ModelError: no usable signal input or CTC output (everything found is listed). ConfigError: bad layout.
    """
    signal, kind, bins, feature_layout, lengths = _inputs(model, where)
    logits = _logits_output(model, where, vocabulary_size)
    integer_outputs = [_name(p, i, "output") for i, p in enumerate(model.outputs) if _is_lengths(p)]
    if len(integer_outputs) > 1:
        logger.info("%s: integer outputs %s; %r bounds decoding", where, integer_outputs, integer_outputs[0])
    return CTCInterface(signal, kind, bins, feature_layout, lengths, logits.get_any_name(), _layout(logits, layout),
                        integer_outputs[0] if integer_outputs else None)


def _vocabulary(model_path: Path, vocabulary: str | Path | None, blank: str | int | None,
                word_delimiter: str | None | _Auto) -> tuple[Vocabulary, Path]:
    if vocabulary is None:
        folder = model_path if model_path.is_dir() else model_path.parent
        path = folder / DEFAULT_VOCABULARY_FILE
        if not path.is_file():
            raise ConfigError(f"{model_path}: the ctc recipe needs the model's vocabulary: give a vocabulary file "
                              f"(--vocab: JSON list, vocab.json or one token per line), or put {DEFAULT_VOCABULARY_FILE} "
                              "beside the model")
    else:
        path = Path(vocabulary)
    return Vocabulary.from_file(path, blank=blank, word_delimiter=word_delimiter), path


def _unit(vocabulary: Vocabulary, unit: str | None, path: Path) -> str:
    if unit is None:
        return "word" if vocabulary.word_delimiter is not None else "token"
    if unit not in UNITS:
        raise ConfigError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    if unit == "word" and vocabulary.word_delimiter is None:
        raise ConfigError(f"{path}: error rates over words need a word delimiter, and the vocabulary has none: give "
                          "--word-delimiter TOKEN, or count tokens (--unit token)")
    return unit


def _features(interface: CTCInterface, normalize_waveform: bool) -> Callable[[], Callable[..., Any]]:
    from speechq.features import LogMelFeatures, Wav2Vec2Features

    if interface.signal == "waveform":
        return lambda: Wav2Vec2Features(do_normalize=normalize_waveform)
    assert interface.feature_bins is not None and interface.feature_layout is not None
    bins, layout = interface.feature_bins, interface.feature_layout
    return lambda: LogMelFeatures(mels=bins, layout=layout)


def ctc_recipe(
    model_path: str | Path,
    vocabulary: str | Path | None = None,
    *,
    blank: str | int | None = None,
    word_delimiter: str | None | _Auto = AUTO,
    unit: str | None = None,
    layout: str | None = None,
    normalize_waveform: bool = False,
) -> RecipeSpec:
    """The recipe of one CTC model (``.xml`` or ``.onnx``), shared by the command line and ``recipes/ctc.py``.

    Args:
        model_path: the model (its inputs and outputs are read here; see the module docstring).
        vocabulary: vocabulary file; None: ``vocab.json`` beside the model.
        blank: the blank's token or index (an index one past the file's last token appends it, as NeMo's
            vocabularies omit it); None: ``<pad>`` / ``<blank>`` if present, else appended after the last token.
        word_delimiter: the word-boundary token, None for none, :data:`~speechq.decoding.AUTO` (``|`` or space).
        unit: ``"word"`` (WER, CER) or ``"token"`` (token error rate); None: words when there is a delimiter.
        layout: ``"BTV"`` / ``"TBV"``; None: read from the output's shape.
        normalize_waveform: zero mean and unit variance per utterance (Hugging Face Wav2Vec2 models want it).

    Raises:
        ModelError: the model is missing, unreadable, or its inputs/outputs do not fit (named).
        ConfigError: the vocabulary file is missing or malformed, an unknown blank or delimiter, a bad unit or
            layout.
    """
    path = Path(model_path)
    vocab, vocab_path = _vocabulary(path, vocabulary, blank, word_delimiter)
    chosen_unit = _unit(vocab, unit, vocab_path)
    model = load_model(path).model
    interface = find_ctc_interface(model, str(path), vocab.size, layout)
    logger.info("%s: %s", path, interface.describe())
    beside = vocab_path.parent.resolve() == (path if path.is_dir() else path.parent).resolve()
    return RecipeSpec(
        name="ctc",
        engine="plain",
        features=_features(interface, normalize_waveform),
        vocabulary=lambda _beside: vocab,
        logits_layout=interface.layout,
        required_inputs=(interface.signal_input, *interface.lengths_inputs),
        vocabulary_file=vocab_path.name if beside else None,
        unit=chosen_unit,
        engine_config={"lengths_inputs": {k: list(v) for k, v in interface.lengths_inputs.items()}}
        if interface.lengths_inputs else {},
        logits_output=interface.logits_output,
        lengths_output=interface.lengths_output,
        # any CTC model: elementwise and normalisation inputs float (residual streams), as the wav2vec2 recipe does
        quantization_defaults=TRANSFORMER_QUANTIZATION_DEFAULTS,
    )
