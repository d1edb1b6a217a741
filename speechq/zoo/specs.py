"""Per-model recipes as data: features, vocabulary, engine kind, shipped defaults. Recipes, CLI and tests share them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import openvino as ov

from speechq.errors import ConfigError, ModelError

__all__ = ["RecipeSpec", "RECIPES", "TRANSFORMER_QUANTIZATION_DEFAULTS", "ZOO_DIR", "get_recipe"]

ZOO_DIR = Path(__file__).resolve().parent


# The DefaultQuantization params of the wav2vec2 and generic ctc recipes. NNCF's transformer model type quantizes the
# inputs of the layers that do the multiply-adds (MatMul, Convolution) and leaves those of elementwise and
# normalisation ops float (residual Adds, a GLU's Multiply, LayerNorm, GroupNorm); activations asymmetric (mixed);
# SmoothQuant on convolutions too.
# - The first shipped Wav2Vec2 model (58 utterances, greedy WER 48.00% in FP32): plain transformer defaults +17.1 WER points;
#   asymmetric activations (mixed) +2.6; mixed with SmoothQuant on the feature encoder's convolutions +0.3 at full
#   INT8 speed (keeping convolutions FP32 instead costs the speed-up).
# - A conformer with an in-graph log-mel front end (bench/bench_any_ctc.py; 300 dev utterances to calibrate, 500
#   held-out test utterances, CER against FP32's transcripts): NNCF's default model type 2.04%; with the inputs of
#   Add, Multiply, MVN and GroupNormalization left float 1.75%; transformer type (mixed, SmoothQuant on MatMuls)
#   1.40%; these params 1.29%.
TRANSFORMER_QUANTIZATION_DEFAULTS: Mapping[str, Any] = {
    "model_type": "transformer", "preset": "mixed", "smooth_quant_alphas": {"convolution": 0.95}}


@dataclass(frozen=True)
class RecipeSpec:
    """How speechq runs one family of models.

    Attributes:
        name: recipe name (``deepspeech``, ...).
        engine: ``"streaming"`` (recurrent, chunk by chunk with carried state), ``"windowed"`` (whole utterance,
            long audio in windows) or ``"plain"`` (one inference per utterance).
        features: makes the feature transform: audio [N] float32 16 kHz -> model input array.
        vocabulary: makes the vocabulary, from an optional file (None: the recipe's default vocabulary).
        logits_layout: axes of the logits output, ``"TBV"`` (time, batch, vocabulary) or ``"BTV"``.
        required_inputs: input names a model of this family must have.
        default_model / default_data: what ships with speechq (None where nothing ships).
        quantization_defaults: DefaultQuantization params this family needs (user params override them).
        seconds_per_step: audio seconds per feature time step (for real-time factors of a chunk).
        vocabulary_file: name of the vocabulary file a model of this family carries beside its ``.xml``
            (Hugging Face's ``vocab.json``); :meth:`vocabulary_for` reads it when present.
        unit: what error rates count: ``"word"`` (WER and CER) or ``"token"`` (token error rate, e.g. phonemes).
        engine_config: engine options the family needs (e.g. ``lengths_inputs`` the engine fills).
        logits_output / lengths_output: the output to decode and the output bounding each item's frames (None:
            the first output that fits the vocabulary / no bound).
    """

    name: str
    engine: str
    features: Callable[[], Callable[..., Any]]
    vocabulary: Callable[[Path | None], Any]
    logits_layout: str
    required_inputs: tuple[str, ...]
    default_model: Path | None = None
    default_data: Path | None = None
    quantization_defaults: Mapping[str, Any] = field(default_factory=dict)
    seconds_per_step: float | None = None
    vocabulary_file: str | None = None
    unit: str = "word"
    engine_config: Mapping[str, Any] = field(default_factory=dict)
    logits_output: str | None = None
    lengths_output: str | None = None

    def vocabulary_for(self, model_path: str | Path | None) -> Any:
        """The vocabulary of the model at ``model_path`` (a model file, or a model folder such as Hugging Face's): the
        recipe's ``vocabulary_file`` beside the file or inside the folder where the recipe names one and it exists,
        else the recipe's default vocabulary.

        Raises:
            ConfigError: the file beside the model is not a valid vocabulary.
        """
        beside = self.vocabulary_file_of(model_path)
        return self.vocabulary(beside)

    def vocabulary_file_of(self, model_path: str | Path | None) -> Path | None:
        """The recipe's ``vocabulary_file`` beside the model file at ``model_path`` (or inside the model folder), if
        the recipe names one and it exists; else None (the recipe's default vocabulary applies)."""
        if self.vocabulary_file is None or model_path is None:
            return None
        folder = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
        beside = folder / self.vocabulary_file
        return beside if beside.is_file() else None

    def check_model(self, model: ov.Model, where: str) -> None:
        """Raise ModelError when ``model`` lacks the inputs this recipe feeds, or has no logits output of the
        vocabulary's size (before the first inference). ``where`` is the model's path (its vocabulary file, if the
        recipe has one beside it, sets the size; see :meth:`vocabulary_for`)."""
        names = {p.get_any_name() for p in model.inputs}
        missing = [n for n in self.required_inputs if n not in names]
        if missing:
            raise ModelError(
                f"{where}: the {self.name} recipe needs inputs {list(self.required_inputs)}, the model has "
                f"{sorted(names)} (missing {missing})"
            )
        vocabulary_file = self.vocabulary_file_of(where)
        symbols = len(self.vocabulary(vocabulary_file))
        source = f"its vocabulary {vocabulary_file}" if vocabulary_file is not None else "its vocabulary"
        rank = len(self.logits_layout)
        shapes = [p.get_partial_shape() for p in model.outputs]
        logits = [s for s in shapes if s.rank.is_static and s.rank.get_length() == rank]
        if logits and all(s[rank - 1].is_static and s[rank - 1].get_length() != symbols for s in logits):
            outputs = {p.get_any_name(): str(p.get_partial_shape()) for p in model.outputs}
            raise ModelError(
                f"{where}: the {self.name} recipe decodes {symbols} symbols ({source}), but no output of rank "
                f"{rank} ({self.logits_layout}) has {symbols} entries on its last axis; outputs: {outputs}"
            )


def _deepspeech_features() -> Callable[..., Any]:
    from speechq.features import DeepSpeechFeatures

    return DeepSpeechFeatures()


def _deepspeech_vocabulary(path: Path | None) -> Any:
    from speechq.decoding import Vocabulary

    return Vocabulary.from_file(path) if path is not None else Vocabulary.deepspeech()


def _wav2vec2_features() -> Callable[..., Any]:
    from speechq.features import Wav2Vec2Features

    return Wav2Vec2Features()


def _wav2vec2_vocabulary(path: Path | None) -> Any:
    """A Hugging Face ``vocab.json`` (``<pad>`` blank, ``|`` word delimiter): ``path``, or the shipped model's."""
    from speechq.decoding import Vocabulary

    return Vocabulary.from_file(path if path is not None else ZOO_DIR / "wav2vec2_small" / "vocab.json")


RECIPES: Mapping[str, RecipeSpec] = {
    "deepspeech": RecipeSpec(
        name="deepspeech",
        engine="streaming",
        features=_deepspeech_features,
        vocabulary=_deepspeech_vocabulary,
        logits_layout="TBV",
        required_inputs=("input_node", "previous_state_c", "previous_state_h"),
        default_model=ZOO_DIR / "deepspeech_small" / "model.xml",
        default_data=ZOO_DIR / "data" / "synthetic-test",
        seconds_per_step=0.02,
    ),
    "wav2vec2": RecipeSpec(
        name="wav2vec2",
        engine="windowed",
        features=_wav2vec2_features,
        vocabulary=_wav2vec2_vocabulary,
        logits_layout="BTV",
        required_inputs=("input_values",),
        default_model=ZOO_DIR / "wav2vec2_small" / "model.xml",
        default_data=ZOO_DIR / "data" / "synthetic-test",
        quantization_defaults=TRANSFORMER_QUANTIZATION_DEFAULTS,
        vocabulary_file="vocab.json",
    ),
}


def get_recipe(name: str) -> RecipeSpec:
    """The recipe called ``name``.

    Raises:
        ConfigError: unknown recipe (the known ones are listed); ``ctc``, which is built for one model
            (:func:`speechq.zoo.ctc.ctc_recipe`).
    """
    if name == "ctc":
        raise ConfigError("the ctc recipe describes one model: build it with speechq.zoo.ctc_recipe(model path, "
                          "vocabulary, ...) (command line: --recipe ctc -m MODEL --vocab FILE)")
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; recipes are {sorted([*RECIPES, 'ctc'])}")
    return RECIPES[name]
