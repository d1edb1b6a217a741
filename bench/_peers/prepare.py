"""What the parent prepares once for every contender: utterance files, calibration manifests, FP32 models.

Data: MFCC of the calibration and test utterances through speechq's own reader and front end (the same features
the StreamingEngine computes), cached in the work folder. Models: the FP32 IR of each benchmarked model and, where
PyTorch is installed, the same weights as a PyTorch state dict and an ONNX export, so all runtimes run one model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _peers.common import Utterances, files_bytes


@dataclass(frozen=True)
class Split:
    """Utterances of one corpus folder: ``utterances`` (ids, texts, MFCC) and their speechq ``records``."""

    utterances: Utterances
    records: tuple[Any, ...]


def read_split(root: Path, start: int, count: int | None, cache: Path) -> Split:
    """Utterances ``start .. start + count`` (id order) of a LibriSpeech-layout folder, MFCC cached in ``cache``."""
    from speechq.data import find_utterances
    from speechq.decoding import Vocabulary

    alphabet = [t for t in Vocabulary.deepspeech().tokens if t]
    found = find_utterances(root, alphabet=alphabet)
    chosen = tuple(found[start : None if count is None else start + count])
    listing = "\n".join(f"{u.utterance_id} {u.audio_path} {u.audio_path.stat().st_size}" for u in chosen)
    key = hashlib.sha256(listing.encode()).hexdigest()[:16]
    path = cache / f"utterances-{key}.npz"
    if path.is_file():
        return Split(Utterances.load(path), chosen)
    from speechq.data import read_audio
    from speechq.features import DeepSpeechFeatures

    front_end = DeepSpeechFeatures()
    mfcc, seconds = [], []
    for utterance in chosen:
        audio = read_audio(utterance.audio_path)
        mfcc.append(front_end.mfcc(audio).astype(np.float32))
        seconds.append(len(audio) / front_end.sample_rate_hz)
    utterances = Utterances(tuple(u.utterance_id for u in chosen), tuple((u.text or "").lower() for u in chosen),
                            tuple(mfcc), tuple(seconds))
    cache.mkdir(parents=True, exist_ok=True)
    utterances.save(path)
    return Split(utterances, chosen)


def write_subset(split: Split, count: int, folder: Path, pot: bool) -> dict[str, Any]:
    """Files for a calibration subset of ``count`` utterances: the MFCC, speechq's manifest (``.tsv``) and, for POT,
    the zero-state chunks (``.npz``, input_node only)."""
    from speechq.data import write_manifest

    from _peers.common import chunks_of

    subset = split.utterances.head(count)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {"count": count, "utterances": str(subset.save(folder / f"calibration-{count}.npz")),
                             "manifest": str(write_manifest(split.records[:count], folder / f"calibration-{count}.tsv"))}
    if pot:
        chunks = np.concatenate([chunks_of(subset.windows(i)) for i in range(len(subset))])
        np.savez(folder / f"calibration-{count}-chunks.npz", input_node=chunks)
        files["pot_chunks"] = str(folder / f"calibration-{count}-chunks.npz")
    return files


def fp32_models(name: str, model: Any, folder: Path, with_torch: bool) -> dict[str, Any]:
    """The FP32 model as IR (``ov.save_model`` without f16 compression), and as PyTorch state dict and ONNX where
    PyTorch is installed. Returns paths, the hidden size and sizes on disk."""
    import openvino as ov

    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{name}.xml"
    ov.save_model(model, xml, compress_to_fp16=False)
    hidden = int(model.input("previous_state_c").get_partial_shape()[1].get_length())
    files: dict[str, Any] = {"name": name, "xml": str(xml), "hidden": hidden,
                             "bytes": {"openvino": files_bytes([xml, xml.with_suffix(".bin")])}}
    if with_torch:
        import torch

        from _peers.deepspeech_torch import export_onnx, torch_model, weights_of

        module = torch_model(weights_of(model))
        torch.save(module.state_dict(), folder / f"{name}.pt")
        files["torch"] = str(folder / f"{name}.pt")
        files["bytes"]["torch"] = files_bytes([folder / f"{name}.pt"])
        try:
            files["onnx"] = str(export_onnx(module, folder / f"{name}.onnx"))
            files["bytes"]["onnx"] = files_bytes([folder / f"{name}.onnx"])
        except Exception as error:  # noqa: BLE001 - recorded as the ONNX contenders' skip reason
            files["onnx_error"] = f"ONNX export failed: {type(error).__name__}: {error}"
    return files


def baseline_artifact(contender_key: str, models: dict[str, Any]) -> dict[str, Any] | None:
    """The FP32 model a baseline contender runs (None where its format is missing)."""
    if contender_key == "openvino_fp32":
        return {"format": "openvino", "path": models["xml"], "precision": "f32", "bytes": models["bytes"]["openvino"]}
    if contender_key == "openvino_fp32_default":
        return {"format": "openvino", "path": models["xml"], "precision": "default",
                "bytes": models["bytes"]["openvino"]}
    if contender_key == "torch_fp32" and "torch" in models:
        return {"format": "torch", "path": models["torch"], "hidden": models["hidden"], "quantized": False,
                "bytes": models["bytes"]["torch"]}
    if contender_key == "onnxruntime_fp32" and "onnx" in models:
        return {"format": "onnx", "path": models["onnx"], "bytes": models["bytes"]["onnx"]}
    return None
