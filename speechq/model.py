"""Models as POT handled them: load, save (atomically), compress quantized weights to int8.

A :class:`CompressedModel` wraps one OpenVINO model, or several for a cascade, under names.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import openvino as ov
from openvino._offline_transformations import compress_quantize_weights_transformation

from speechq.errors import ModelError, OutputError

__all__ = [
    "CompressedModel",
    "ModelPart",
    "check_companion_files",
    "check_output",
    "compress_model_weights",
    "get_core",
    "load_model",
    "save_companion_files",
    "save_model",
]

logger = logging.getLogger(__name__)

_MODEL_SUFFIXES = (".xml", ".onnx")


CPU_SHAPE_CACHE_CAPACITY = 16  # see get_core


@functools.lru_cache(maxsize=1)
def get_core() -> ov.Core:
    """The process-wide OpenVINO runtime core (created on first use).

    Its CPU device keeps the executors of only the last 16 input shapes (``CPU_RUNTIME_CACHE_CAPACITY``, OpenVINO's
    default 5000): utterances come in as many lengths as there are utterances, and each length kept about 2 MB
    alive on wav2vec2-base that a pass over a data set never reused (80 lengths: +163 MB, against +21 MB with 16).
    Fixed-shape models (DeepSpeech chunks) do not use this cache. A compile property given per model wins.
    """
    core = ov.Core()
    core.set_property("CPU", {"CPU_RUNTIME_CACHE_CAPACITY": CPU_SHAPE_CACHE_CAPACITY})
    return core


@dataclass
class ModelPart:
    """One named model of a (possibly cascaded) CompressedModel."""

    name: str
    model: ov.Model

    def __getitem__(self, key: str) -> Any:
        """POT scripts read ``part["name"]`` and ``part["model"]``."""
        if key not in ("name", "model"):
            raise KeyError(key)
        return getattr(self, key)


class CompressedModel:
    """One OpenVINO model, or a cascade of several, with the name they are saved under.

    Attributes:
        models: the parts, in cascade order (one part for an ordinary model).
        is_cascade: whether there is more than one part.
    """

    def __init__(self, parts: list[ModelPart], source: Mapping[str, Any] | None = None) -> None:
        if not parts:
            raise ModelError("a CompressedModel needs at least one model")
        self.models = parts
        self.source = dict(source or {})

    @classmethod
    def from_ov(cls, model: ov.Model, name: str = "model") -> CompressedModel:
        """Wrap an in-memory ``openvino.Model``."""
        return cls([ModelPart(name=name, model=model)])

    @property
    def is_cascade(self) -> bool:
        return len(self.models) > 1

    @property
    def name(self) -> str:
        return self.models[0].name if not self.is_cascade else "+".join(p.name for p in self.models)

    @property
    def model(self) -> ov.Model:
        """The single model of a non-cascade.

        Raises:
            ModelError: this is a cascade (use ``models``).
        """
        if self.is_cascade:
            raise ModelError(f"model {self.name!r} is a cascade of {len(self.models)} models; use .models")
        return self.models[0].model

    def clone(self) -> CompressedModel:
        """A deep copy: transforming the copy leaves this model untouched."""
        return CompressedModel([ModelPart(p.name, p.model.clone()) for p in self.models], self.source)

    def __repr__(self) -> str:
        return f"CompressedModel({[p.name for p in self.models]})"


def _read_part(name: str, model_path: Path, weights_path: Path | None) -> ModelPart:
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    if model_path.suffix.lower() not in _MODEL_SUFFIXES:
        raise ModelError(f"{model_path}: expected an OpenVINO IR (.xml) or ONNX (.onnx) model")
    if model_path.suffix.lower() == ".xml":
        weights_path = weights_path or model_path.with_suffix(".bin")
        if not weights_path.is_file():
            raise ModelError(f"weights file not found: {weights_path} (the .bin beside {model_path.name})")
    try:
        if weights_path is not None:
            model = get_core().read_model(str(model_path), str(weights_path))
        else:
            model = get_core().read_model(str(model_path))
    except Exception as error:  # OpenVINO raises RuntimeError with a multi-line C++ trace
        raise ModelError(f"{model_path}: cannot be read as a model ({_ov_reason(error)})") from error
    return ModelPart(name=name, model=model)


def _ov_reason(error: BaseException) -> str:
    """The first informative line of an OpenVINO error (its leading ``Exception from src/...`` lines skipped)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception from ")]
    reason = (useful or lines or [type(error).__name__])[0]
    return reason.split(" Available frontends")[0]


def load_model(model_config: Mapping[str, Any] | str | os.PathLike[str], target_device: str = "ANY") -> CompressedModel:
    """Read an OpenVINO IR (.xml + .bin) or ONNX model, as POT's ``load_model`` did.

    Args:
        model_config: ``{"model_name": str, "model": path, "weights": path}`` (``weights`` optional: the .bin
            beside the .xml), ``{"model_name": str, "cascade": [{"name", "model", "weights"}, ...]}``, or a
            plain path.
        target_device: accepted for POT compatibility; models are read device-independently.

    Raises:
        ModelError: a file is missing or is not a readable model.
    """
    del target_device
    if isinstance(model_config, (str, os.PathLike)):
        path = Path(model_config)
        return CompressedModel([_read_part(path.stem, path, None)], {"model": str(path)})
    if not isinstance(model_config, Mapping):
        raise ModelError(f"model_config must be a dict or a path, got {type(model_config).__name__}")
    if "cascade" in model_config:
        parts = []
        for index, entry in enumerate(model_config["cascade"]):
            if "model" not in entry:
                raise ModelError(f"model_config cascade[{index}] has no 'model' path")
            weights = entry.get("weights")
            parts.append(_read_part(str(entry.get("name", index)), Path(entry["model"]), Path(weights) if weights else None))
        return CompressedModel(parts, model_config)
    if "model" not in model_config:
        raise ModelError(f"model_config needs a 'model' path; got keys {sorted(model_config)}")
    path = Path(model_config["model"])
    weights = model_config.get("weights")
    name = str(model_config.get("model_name") or path.stem)
    return CompressedModel([_read_part(name, path, Path(weights) if weights else None)], model_config)


def _check_writable(save_dir: Path) -> None:
    try:
        save_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"output folder {save_dir} cannot be created: {error.strerror}") from error
    if not os.access(save_dir, os.W_OK):
        raise OutputError(f"output folder {save_dir} is not writable")


def check_output(save_dir: Path, stems: list[str], overwrite: bool) -> list[tuple[Path, Path]]:
    """Check before any long work that ``<save_dir>/<stem>.xml/.bin`` can be written; returns those paths.

    Raises:
        OutputError: the folder cannot be created or written, or a file exists and ``overwrite`` is False.
    """
    _check_writable(save_dir)
    paths = [(save_dir / f"{stem}.xml", save_dir / f"{stem}.bin") for stem in stems]
    for xml, binary in paths:
        if not overwrite and (xml.exists() or binary.exists()):
            raise OutputError(f"{xml} already exists; refusing to overwrite it (ask for overwrite)")
    return paths


def save_model(
    model: CompressedModel,
    save_path: str | os.PathLike[str],
    model_name: str | None = None,
    for_stat_collection: bool = False,
    overwrite: bool = True,
) -> list[dict[str, str]]:
    """Write each part as ``<save_path>/<name>.xml`` + ``.bin``, atomically.

    Every file is written under a temporary name in ``save_path`` and renamed into place only once all parts are
    complete, so an error or interruption never leaves a half-written model (nor touches an existing one, unless it
    strikes while the files are renamed over it with ``overwrite``: then the new files renamed so far are removed).

    Args:
        model: the model to write.
        save_path: output folder (created if needed).
        model_name: file stem; default the model's name (cascade parts get ``<model_name>_<part>``).
        for_stat_collection: accepted for POT compatibility (speechq models carry no statistics outputs).
        overwrite: replace existing files of the same name (POT's behaviour); with False, refuse.

    Returns:
        ``[{"name", "model", "weights"}]`` with the written paths, one entry per part.

    Raises:
        OutputError: the folder cannot be written, a target exists and ``overwrite`` is False, or the disk is full.
    """
    del for_stat_collection
    save_dir = Path(save_path)
    stem = model_name or model.name
    paths = check_output(save_dir, [stem if not model.is_cascade else f"{stem}_{p.name}" for p in model.models], overwrite)
    targets = [(part, xml, binary) for part, (xml, binary) in zip(model.models, paths)]
    staging = Path(tempfile.mkdtemp(prefix=".speechq-save-", dir=save_dir))
    renaming: list[Path] = []
    try:
        for part, xml, _ in targets:
            ov.save_model(part.model, str(staging / xml.name), compress_to_fp16=False)
        for _, xml, binary in targets:
            for target in (binary, xml):
                renaming.append(target)  # before the rename: an interruption may strike right after it
                os.replace(staging / target.name, target)
    except BaseException as error:  # an error or an interruption (Ctrl-C, SIGTERM in the CLI) while renaming:
        for target in renaming:  # never leave some parts, or a .bin without its .xml
            if not (staging / target.name).exists():  # it was moved into place
                target.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write model to {save_dir}: {error.strerror or error}") from error
        if isinstance(error, RuntimeError):  # OpenVINO's writer says little ("iostream error"): add the free space
            raise OutputError(f"cannot write model to {save_dir}: {_ov_reason(error)}{_free_space(save_dir)}") from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("saved %s", ", ".join(str(xml) for _, xml, _ in targets))
    return [{"name": part.name, "model": str(xml), "weights": str(binary)} for part, xml, binary in targets]


def check_companion_files(files: Sequence[tuple[Path, str]], save_dir: Path, overwrite: bool) -> None:
    """Check before any long work that the files a model needs beside it (``(source, sub-folder)`` pairs, e.g.
    ``(vocab.json, "")`` or a language model's files with ``"language_model"``) can be copied into ``save_dir``.

    Raises:
        OutputError: a file of that name exists there with other bytes, or a sub-folder holds other files (they
            would mix with ours, e.g. two language models), and ``overwrite`` is False.
    """
    for source, folder in files:
        target = save_dir / folder / source.name
        if target.exists() and not overwrite and (not target.is_file() or target.read_bytes() != source.read_bytes()):
            raise OutputError(f"{target} already exists and differs from {source}; refusing to overwrite it "
                              "(ask for overwrite)")
    for folder, ours in _by_folder(files).items():
        target = save_dir / folder
        others = sorted(p.name for p in target.iterdir() if p.name not in ours) if target.is_dir() else []
        if others and not overwrite:
            raise OutputError(f"{target} already holds other files ({', '.join(others)}); refusing to mix them with "
                              "the model's (ask for overwrite)")


def save_companion_files(files: Sequence[tuple[Path, str]], save_dir: Path) -> list[Path]:
    """Copy ``(source, sub-folder)`` pairs into ``save_dir``, each through a temporary file there (never a
    half-written copy); a sub-folder ends up holding only ours (check first: :func:`check_companion_files`).
    Returns the copies' paths."""
    written = []
    try:
        for folder, ours in _by_folder(files).items():
            (save_dir / folder).mkdir(exist_ok=True)
            for stale in [p for p in (save_dir / folder).iterdir() if p.name not in ours]:
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    except OSError as error:
        raise OutputError(f"cannot write {save_dir}: {error.strerror or error}") from error
    for source, folder in files:
        target = save_dir / folder / source.name
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise OutputError(f"cannot write {target}: {error.strerror or error}") from error
            raise
        written.append(target)
    return written


def _by_folder(files: Sequence[tuple[Path, str]]) -> dict[str, set[str]]:
    """Sub-folder -> names of the files going there (the top folder, ``""``, left out: it holds the model too)."""
    folders: dict[str, set[str]] = {}
    for source, folder in files:
        if folder:
            folders.setdefault(folder, set()).add(source.name)
    return folders


def _free_space(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f" ({free / 1e6:.1f} MB free on its file system)"


def compress_model_weights(model: CompressedModel) -> None:
    """Store quantized weights as int8 constants (in place), as POT's ``compress_model_weights`` did.

    Each weight FakeQuantize is folded into an int8 constant followed by Convert/Subtract/Multiply, so the
    saved .bin holds 1 byte per weight instead of 4 while the model computes the same outputs. Models without
    weight FakeQuantize nodes are left unchanged. Idempotent.
    """
    for part in model.models:
        compress_quantize_weights_transformation(part.model)
