"""POT's DefaultQuantization of an IR, run by the Python of POT's own venv (openvino-dev 2023.3).

``<pot venv>/bin/python bench/_peers/pot_worker.py task.json result.json`` with task ``{"architecture":
"deepspeech", "xml": fp32 IR, "calibration": .npz holding "input_node" [n, 1, 16, 19, 26], "hidden": H, "out":
folder}`` or ``{"architecture": "wav2vec2", "xml": ..., "calibration": .npz of normalised waveforms [1, N], one
array per utterance, "out": ...}``. Imports only numpy and POT (neither speechq nor the benchmark's other helpers:
they need the current OpenVINO). The calibration set is the hand-built one the NNCF and ONNX Runtime contenders get:
DeepSpeech's every chunk with zero LSTM state; Wav2Vec2's whole utterances.

Task ``{"task": "load", "xml": IR}``: does the IR read and compile on POT's runtime (OpenVINO 2023.3)? Result
``{"loads": true}`` or ``{"loads": false, "error": ...}`` (an IR saved by a newer OpenVINO may use operations or
attributes 2023.3 does not know).

Task ``{"task": "probe", "xml": IR, "chunks": .npz with "input_node" and "counts" (chunks per utterance)}`` runs
a model on POT's own runtime (OpenVINO 2023.3, f32) chunk by chunk with carried state and returns the most likely
symbol of every step of every utterance, which the parent decodes and scores like every other model's output.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from openvino.tools.pot import DataLoader, IEEngine, compress_model_weights, create_pipeline, load_model, save_model


STATE_C = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"
STATE_H = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ZeroStateChunks(DataLoader):
    """POT's data loader: item ``i`` is ``({input name: array}, annotation)``."""

    def __init__(self, chunks: np.ndarray, hidden: int) -> None:
        super().__init__({})
        self._chunks = chunks
        self._zeros = np.zeros((1, hidden), np.float32)

    def __len__(self) -> int:
        return len(self._chunks)

    def __getitem__(self, index: int):  # type: ignore[no-untyped-def]
        if index >= len(self._chunks):
            raise IndexError(index)
        feed = {"input_node": self._chunks[index], "previous_state_c": self._zeros, "previous_state_h": self._zeros}
        return feed, None


class Utterances(DataLoader):
    """POT's data loader over whole utterances: item ``i`` is ``({"input_values": [1, N]}, annotation)``."""

    def __init__(self, waveforms: list) -> None:
        super().__init__({})
        self._waveforms = waveforms

    def __len__(self) -> int:
        return len(self._waveforms)

    def __getitem__(self, index: int):  # type: ignore[no-untyped-def]
        if index >= len(self._waveforms):
            raise IndexError(index)
        return {"input_values": self._waveforms[index]}, None


def loads(task: dict) -> dict:
    """Whether OpenVINO 2023.3 reads and compiles the IR (and the error if not)."""
    import openvino.runtime as ov

    try:
        core = ov.Core()
        core.compile_model(core.read_model(task["xml"]), "CPU")
    except Exception as error:  # noqa: BLE001 - the answer to the question this task asks
        return {"loads": False, "error": f"{type(error).__name__}: {' '.join(str(error).split())[:400]}"}
    return {"loads": True}


def calibration_loader(task: dict) -> tuple:
    """POT's data loader, its size and its parameters for the task's architecture."""
    with np.load(task["calibration"]) as data:
        if task.get("architecture", "deepspeech") == "deepspeech":
            chunks = data["input_node"]
            params = {"target_device": "ANY", "preset": "performance", "stat_subset_size": len(chunks)}
            return ZeroStateChunks(chunks, task["hidden"]), len(chunks), params
        waveforms = [data[key] for key in sorted(data.files)]
    params = {"target_device": "ANY", "model_type": "transformer", "preset": "performance",
              "stat_subset_size": len(waveforms)}
    return Utterances(waveforms), len(waveforms), params


def probe(task: dict) -> dict:
    """Best-path symbol ids ``[T_chunks * 16]`` per utterance (padding included; the parent trims)."""
    import openvino.runtime as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(task["xml"]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    hidden = compiled.input("previous_state_c").get_partial_shape()[1].get_length()
    outputs = [compiled.output(name) for name in ("logits", STATE_C, STATE_H)]
    with np.load(task["chunks"]) as data:
        chunks, counts = data["input_node"], data["counts"]
    paths, start = [], 0
    for count in counts:
        c = np.zeros((1, hidden), np.float32)
        h = np.zeros((1, hidden), np.float32)
        ids = []
        for chunk in chunks[start : start + count]:
            request.infer({"input_node": chunk, "previous_state_c": c, "previous_state_h": h})
            logits, c, h = (request.get_tensor(output).data.copy() for output in outputs)
            ids.extend(int(i) for i in logits[:, 0].argmax(axis=-1))
        paths.append(ids)
        start += count
    return {"paths": paths, "versions": {"openvino (POT venv)": ov.get_version()}}


def main(argv: list[str]) -> int:
    task = json.loads(Path(argv[0]).read_text())
    if task.get("task") in ("probe", "load"):
        Path(argv[1]).write_text(json.dumps({"probe": probe, "load": loads}[task["task"]](task)))
        return 0
    started = time.perf_counter()
    loader, count, params = calibration_loader(task)
    xml = Path(task["xml"])
    model = load_model({"model_name": "model", "model": str(xml), "weights": str(xml.with_suffix(".bin"))})
    engine = IEEngine({"device": "CPU"}, data_loader=loader, metric=None)
    result: dict = {"calibration_chunks": int(count), "rss_before_mb": peak_rss_mb()}
    start = time.perf_counter()
    pipeline = create_pipeline([{"name": "DefaultQuantization", "params": params}], engine)
    quantized = pipeline.run(model)
    compress_model_weights(quantized)
    save_model(quantized, task["out"], model_name="model")
    result["quantize_seconds"] = time.perf_counter() - start
    result["rss_after_mb"] = peak_rss_mb()
    import openvino.runtime as ov
    from openvino.tools.pot.version import get_version

    out_xml = Path(task["out"]) / "model.xml"
    result["artifact"] = {"format": "openvino", "architecture": task.get("architecture", "deepspeech"),
                          "path": str(out_xml),
                          "bytes": out_xml.stat().st_size + out_xml.with_suffix(".bin").stat().st_size}
    result["versions"] = {"openvino (POT venv)": ov.get_version(), "pot": get_version(),
                          "python (POT venv)": sys.version.split()[0]}
    result["child_seconds"] = time.perf_counter() - started
    result["child_peak_rss_mb"] = peak_rss_mb()
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
