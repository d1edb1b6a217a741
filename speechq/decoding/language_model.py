"""A model's own language model: the ``language_model/`` folder beside it, in pyctcdecode's layout.

Hugging Face's ``Wav2Vec2ProcessorWithLM`` and pyctcdecode's ``save_to_dir`` keep a CTC model's KenLM model in a
``language_model/`` folder next to its weights::

    language_model/attrs.json     {"alpha": 0.5, "beta": 1.0, "unk_score_offset": -10.0, "score_boundary": true}
    language_model/unigrams.txt   the LM's words, one a line (optional for an ARPA model: read from it)
    language_model/<any name>     the KenLM model: ARPA text or KenLM binary

speechq decodes a model that has one with beam search and that language model unless told otherwise (the shipped
models have one), and copies it beside the INT8 model it saves. Nothing here imports OpenVINO.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from speechq.decoding.beam import (
    DEFAULT_BEAM_WIDTH,
    BeamSearch,
    BeamSearchParams,
    build_beam_decoder,
    read_arpa_unigrams,
)
from speechq.decoding.vocabulary import Vocabulary
from speechq.errors import ConfigError, OutputError

__all__ = [
    "LANGUAGE_MODEL_FOLDER",
    "LanguageModelFolder",
    "find_language_model",
    "read_language_model_folder",
    "write_language_model_folder",
]

LANGUAGE_MODEL_FOLDER = "language_model"
ATTRS_FILE = "attrs.json"
UNIGRAMS_FILE = "unigrams.txt"
_WEIGHTS = ("alpha", "beta", "unk_score_offset")
_KNOWN_ATTRS = {*_WEIGHTS, "score_boundary"}


@dataclass(frozen=True)
class LanguageModelFolder:
    """A read ``language_model/`` folder: its KenLM file, unigrams file (or None) and weights."""

    folder: Path
    kenlm_path: Path
    unigrams_path: Path | None
    alpha: float
    beta: float
    unk_score_offset: float

    @property
    def files(self) -> tuple[Path, ...]:
        """The files that make it up (what to copy beside another model)."""
        extra = () if self.unigrams_path is None else (self.unigrams_path,)
        return (self.folder / ATTRS_FILE, self.kenlm_path, *extra)

    def beam_search(self, vocab: Vocabulary, beam_width: int = DEFAULT_BEAM_WIDTH) -> BeamSearch:
        """pyctcdecode's decoder for ``vocab`` with this language model and its weights.

        Raises:
            ConfigError: unreadable unigrams file, ambiguous labels. ModelError: KenLM cannot load the model.
        """
        unigrams = None
        if self.unigrams_path is not None:
            try:
                unigrams = [w for w in self.unigrams_path.read_text(encoding="utf-8").split() if w]
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"{self.unigrams_path}: cannot read the unigrams ({error})") from error
            if not unigrams:
                raise ConfigError(f"{self.unigrams_path}: no words in it")
        params = BeamSearchParams(beam_width=beam_width, alpha=self.alpha, beta=self.beta,
                                  unk_score_offset=self.unk_score_offset)
        return build_beam_decoder(vocab, self.kenlm_path, params, unigrams)

    def describe(self) -> str:
        """One line for reports: which file, with which weights."""
        return f"{self.kenlm_path} (alpha {self.alpha:g}, beta {self.beta:g})"


def find_language_model(model_path: str | Path | None) -> LanguageModelFolder | None:
    """The ``language_model/`` folder beside the model file at ``model_path`` (or inside a model folder such as
    Hugging Face's), read and checked; None when there is none.

    Raises:
        ConfigError: the folder exists but is not a valid language model folder (names the file at fault).
    """
    if model_path is None:
        return None
    path = Path(model_path)
    folder = (path if path.is_dir() else path.parent) / LANGUAGE_MODEL_FOLDER
    return read_language_model_folder(folder) if folder.is_dir() else None


def read_language_model_folder(folder: str | Path) -> LanguageModelFolder:
    """Read a ``language_model/`` folder (layout in the module doc).

    Raises:
        ConfigError: a missing or malformed ``attrs.json``, no KenLM model or several candidates, an unreadable
            unigrams file.
    """
    folder = Path(folder)
    attrs_path = folder / ATTRS_FILE
    try:
        attrs = json.loads(attrs_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{folder}: a language model folder needs {ATTRS_FILE} (alpha, beta, unk_score_offset)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{attrs_path}: cannot read it ({error})") from error
    if not isinstance(attrs, dict):
        raise ConfigError(f"{attrs_path}: must be a JSON object with {', '.join(_WEIGHTS)}")
    unknown = sorted(set(attrs) - _KNOWN_ATTRS)
    if unknown:
        raise ConfigError(f"{attrs_path}: unknown keys {unknown}; expected {sorted(_KNOWN_ATTRS)}")
    weights = {}
    for name in _WEIGHTS:
        value = attrs.get(name, getattr(BeamSearchParams, name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{attrs_path}: {name} must be a finite number, got {value!r}")
        weights[name] = float(value)
    candidates = sorted(p for p in folder.iterdir()
                        if p.is_file() and not p.name.startswith(".") and p.name not in (ATTRS_FILE, UNIGRAMS_FILE))
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise ConfigError(f"{folder}: expected one KenLM model (ARPA or binary) beside {ATTRS_FILE}, found {found}")
    unigrams = folder / UNIGRAMS_FILE
    return LanguageModelFolder(folder, candidates[0], unigrams if unigrams.is_file() else None, **weights)


def write_language_model_folder(folder: str | Path, kenlm_path: str | Path, alpha: float = BeamSearchParams.alpha,
                                beta: float = BeamSearchParams.beta,
                                unk_score_offset: float = BeamSearchParams.unk_score_offset,
                                name: str | None = None) -> LanguageModelFolder:
    """Write a ``language_model/`` folder (usually ``<model folder>/language_model``): a copy of the ARPA model at
    ``kenlm_path`` (named ``name``, default the source's name), its unigrams and the weights; then read it back.
    The folder must not exist yet.

    Raises:
        ModelError: not a readable ARPA model (a binary one needs its unigrams: use pyctcdecode's ``save_to_dir``).
        ConfigError: bad weights. OutputError: the folder exists or cannot be written.
    """
    folder, source = Path(folder), Path(kenlm_path)
    params = BeamSearchParams(alpha=alpha, beta=beta, unk_score_offset=unk_score_offset)  # validates the weights
    unigrams = read_arpa_unigrams(source)
    if folder.exists():
        raise OutputError(f"{folder} already exists; remove it first")
    try:
        folder.mkdir(parents=True)
        shutil.copyfile(source, folder / (name or source.name))
        (folder / UNIGRAMS_FILE).write_text("".join(f"{word}\n" for word in unigrams), encoding="utf-8")
        attrs = {"alpha": params.alpha, "beta": params.beta, "unk_score_offset": params.unk_score_offset,
                 "score_boundary": True}
        (folder / ATTRS_FILE).write_text(json.dumps(attrs, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise OutputError(f"cannot write {folder}: {error.strerror or error}") from error
    return read_language_model_folder(folder)
