"""What the parent prepares once for every contender: utterance files, calibration manifests, FP32 models.

Data: the calibration and test utterances through speechq's own reader (DeepSpeech: MFCC through speechq's front
end, the same features the StreamingEngine computes; Wav2Vec2: the 16 kHz waveform), cached in the work folder.
Models: the FP32 IR of each benchmarked model and, where PyTorch is installed, the same weights as a PyTorch state
dict and an ONNX export, so all runtimes run one model. Speed models (random weights): DeepSpeech 0.8.2 sizes built
by speechq, Hugging Face's ``Wav2Vec2ForCTC`` at wav2vec2-base sizes converted with ``openvino.convert_model``.
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


def read_split(root: Path, start: int, count: int | None, cache: Path, architecture: str) -> Split:
    """Utterances ``start .. start + count`` (id order) of a LibriSpeech-layout folder, with what ``architecture``
    reads (MFCC, or the waveform), cached in ``cache``. Transcripts are checked against the recipe's characters."""
    from speechq.data import find_utterances
    from speechq.workflows import spoken_characters
    from speechq.zoo import get_recipe

    found = find_utterances(root, alphabet=spoken_characters(get_recipe(architecture)))
    chosen = tuple(found[start : None if count is None else start + count])
    listing = "\n".join(f"{u.utterance_id} {u.audio_path} {u.audio_path.stat().st_size}" for u in chosen)
    key = hashlib.sha256(f"{architecture}\n{listing}".encode()).hexdigest()[:16]
    path = cache / f"utterances-{architecture}-{key}.npz"
    if path.is_file():
        return Split(Utterances.load(path), chosen)
    from speechq.data import read_audio
    from speechq.features import DeepSpeechFeatures

    front_end = DeepSpeechFeatures()
    features, seconds = [], []
    for utterance in chosen:
        audio = read_audio(utterance.audio_path)
        features.append((front_end.mfcc(audio) if architecture == "deepspeech" else audio).astype(np.float32))
        seconds.append(len(audio) / front_end.sample_rate_hz)
    utterances = Utterances(tuple(u.utterance_id for u in chosen), tuple((u.text or "").lower() for u in chosen),
                            tuple(features), tuple(seconds))
    cache.mkdir(parents=True, exist_ok=True)
    utterances.save(path)
    return Split(utterances, chosen)


def write_subset(split: Split, count: int, folder: Path, pot: bool, architecture: str) -> dict[str, Any]:
    """Files for a calibration subset of ``count`` utterances: the features, speechq's manifest (``.tsv``) and, for
    POT, its calibration inputs (``.npz`` that needs nothing but numpy to read: DeepSpeech's zero-state chunks,
    ``input_node`` only; Wav2Vec2's normalised waveforms ``[1, N]``, one array per utterance in order)."""
    from speechq.data import write_manifest

    from _peers.common import chunks_of

    subset = split.utterances.head(count)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {"count": count, "utterances": str(subset.save(folder / f"calibration-{count}.npz")),
                             "manifest": str(write_manifest(split.records[:count], folder / f"calibration-{count}.tsv"))}
    if pot:
        path = folder / f"calibration-{count}-pot.npz"
        if architecture == "deepspeech":
            np.savez(path, input_node=np.concatenate([chunks_of(subset.windows(i)) for i in range(len(subset))]))
        else:
            np.savez(path, **{f"{i:06d}": subset.input_values(i) for i in range(len(subset))})
        files["pot_data"] = str(path)
    return files


def fp32_models(architecture: str, name: str, model: Any, folder: Path, with_torch: bool, title: str,
                module: Any = None) -> dict[str, Any]:
    """The FP32 model as IR (``ov.save_model`` without f16 compression), and as PyTorch state dict and ONNX where
    PyTorch is installed: the IR's weights read back into a PyTorch module (Wav2Vec2: checked to give the IR's
    logits), or ``module`` itself where the IR was converted from it (random weights). Returns paths, the hidden size
    (DeepSpeech's LSTM; Wav2Vec2's transformer width), ``title`` and sizes on disk."""
    import openvino as ov

    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{name}.xml"
    ov.save_model(model, xml, compress_to_fp16=False)
    files: dict[str, Any] = {"architecture": architecture, "name": name, "xml": str(xml), "title": title,
                             "bytes": {"openvino": files_bytes([xml, xml.with_suffix(".bin")])}}
    if architecture == "deepspeech":
        files["hidden"] = int(model.input("previous_state_c").get_partial_shape()[1].get_length())
    else:
        config = module.config.to_dict() if module is not None else _wav2vec2_config_json()
        files["hidden"] = int(config["hidden_size"])
    if with_torch:
        torch_path, onnx_path = folder / f"{name}.pt", folder / f"{name}.onnx"
        export_onnx = _save_torch(architecture, model, module, torch_path)
        files["torch"] = str(torch_path)
        files["bytes"]["torch"] = files_bytes([torch_path])
        try:
            files["onnx"] = str(export_onnx(onnx_path))
            files["bytes"]["onnx"] = files_bytes([onnx_path])
        except Exception as error:  # noqa: BLE001 - recorded as the ONNX contenders' skip reason
            files["onnx_error"] = f"ONNX export failed: {type(error).__name__}: {error}"
    return files


def _save_torch(architecture: str, model: Any, module: Any, path: Path) -> Any:
    """The PyTorch module of the IR ``model`` (``module`` where given) saved to ``path``; returns its ONNX export
    (``path -> path``)."""
    if architecture == "deepspeech":
        import torch

        from _peers import deepspeech_torch

        chunk = deepspeech_torch.torch_model(deepspeech_torch.weights_of(model))
        torch.save(chunk.state_dict(), path)
        return lambda onnx_path: deepspeech_torch.export_onnx(chunk, onnx_path)
    from _peers import wav2vec2_torch

    if module is None:
        module = wav2vec2_torch.torch_model(model, _wav2vec2_config())  # checked against the IR's logits
    else:
        wav2vec2_torch.check_logits(module, model)
    wav2vec2_torch.save(module, module.config, path)
    return lambda onnx_path: wav2vec2_torch.export_onnx(module, onnx_path)


def _wav2vec2_config_json() -> dict[str, Any]:
    """The shipped Wav2Vec2 model's ``config.json`` (read without transformers)."""
    import json

    from _peers.architectures import ARCHITECTURES

    return json.loads(ARCHITECTURES["wav2vec2"].config.read_text(encoding="utf-8"))  # type: ignore[union-attr]


def _wav2vec2_config() -> Any:
    from _peers import wav2vec2_torch
    from _peers.architectures import ARCHITECTURES

    return wav2vec2_torch.read_config(ARCHITECTURES["wav2vec2"].config)  # type: ignore[arg-type]


# wav2vec2-base (Hugging Face's defaults, as bench/bench_wav2vec2_speed.py) and a tiny random one for --tiny: 3
# transformer layers as the shipped model, so that its accuracy-aware choice of layers exists in either
WAV2VEC2_SPEED_SIZES: dict[str, dict[str, Any]] = {
    "base": {},
    "tiny": {"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 64,
             "conv_dim": (16,) * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4},
}


def speed_model(architecture: str, size: Any, folder: Path, with_torch: bool) -> dict[str, Any]:
    """FP32 files of the random-weight speed model: DeepSpeech 0.8.2 sizes with ``size`` LSTM units (speechq's
    graph, seed 0), or Hugging Face's ``Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=32, **WAV2VEC2_SPEED_SIZES[size]))``
    (torch seed 0) converted as the shipped model was."""
    if architecture == "deepspeech":
        from speechq.zoo.architectures import deepspeech_graph, random_deepspeech_weights

        graph = deepspeech_graph(random_deepspeech_weights(size))
        return fp32_models(architecture, f"full_size_{size}", graph, folder, with_torch,
                           f"DeepSpeech 0.8.2 sizes ({size} units, random weights)")
    import torch
    from transformers import Wav2Vec2Config

    from _peers import wav2vec2_torch

    torch.manual_seed(0)
    config = Wav2Vec2Config(vocab_size=32, **WAV2VEC2_SPEED_SIZES[size])
    module = wav2vec2_torch.build(config)
    title = (f"{'wav2vec2-base' if size == 'base' else 'tiny random'} sizes ({config.num_hidden_layers} transformer "
             f"layers of {config.hidden_size}, random weights)")
    return fp32_models(architecture, f"full_size_{size}", wav2vec2_torch.convert(module, f"wav2vec2_{size}"), folder,
                       with_torch, title, module)


def baseline_artifact(contender_key: str, models: dict[str, Any]) -> dict[str, Any] | None:
    """The FP32 model a baseline contender runs (None where its format is missing)."""
    arch = models["architecture"]
    if contender_key == "openvino_fp32":
        return {"format": "openvino", "architecture": arch, "path": models["xml"], "precision": "f32",
                "bytes": models["bytes"]["openvino"]}
    if contender_key == "openvino_fp32_default":
        return {"format": "openvino", "architecture": arch, "path": models["xml"], "precision": "default",
                "bytes": models["bytes"]["openvino"]}
    if contender_key == "torch_fp32" and "torch" in models:
        return {"format": "torch", "architecture": arch, "path": models["torch"], "hidden": models["hidden"],
                "quantized": False, "bytes": models["bytes"]["torch"]}
    if contender_key == "onnxruntime_fp32" and "onnx" in models:
        return {"format": "onnx", "architecture": arch, "path": models["onnx"], "bytes": models["bytes"]["onnx"]}
    return None
