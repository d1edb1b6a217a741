"""One streaming loop for every runtime: chunks of 16 steps, LSTM state carried, zero at each utterance.

A runner wraps one model in one runtime (OpenVINO, ONNX Runtime, PyTorch) with a fixed number of threads and
does one chunk: ``step(feed) -> (probabilities [16, 29], c, h)``. Word error rates and speed are measured through
the same loop for every contender, so differences come from the models and runtimes, not from the harness.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from _peers.common import CHUNK_STEPS, STEP_SECONDS, Utterances, chunks_of, spread

OV_STATE_C = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"
OV_STATE_H = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"


class Runner(Protocol):
    hidden: int

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


class OpenVINORunner:
    """An IR on OpenVINO's CPU plugin: ``precision`` is ``INFERENCE_PRECISION_HINT`` (``f32``) or ``default`` (the
    plugin's choice: bf16 on CPUs with AVX-512 BF16 or AMX); latency hint, ``threads`` inference threads."""

    def __init__(self, xml: Path, threads: int, precision: str = "f32") -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(xml))
        properties: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
        if precision != "default":
            properties["INFERENCE_PRECISION_HINT"] = precision
        self.compiled = core.compile_model(model, "CPU", properties)
        self.request = self.compiled.create_infer_request()
        self.hidden = self.compiled.input("previous_state_c").get_partial_shape()[1].get_length()
        names = [output.get_names() for output in self.compiled.outputs]
        self._outputs = [self._index(names, name, i) for i, name in enumerate(("logits", OV_STATE_C, OV_STATE_H))]
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.float_precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)

    @staticmethod
    def _index(names: list[set[str]], name: str, fallback: int) -> int:
        return next((i for i, n in enumerate(names) if name in n), fallback)

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.request.infer(feed)
        logits, c, h = (self.request.get_output_tensor(i).data for i in self._outputs)
        return logits[:, 0].copy(), c.copy(), h.copy()


class OnnxRuntimeRunner:
    """An ONNX model on ONNX Runtime's CPU execution provider: all graph optimisations, ``threads`` intra-op
    threads, one inter-op thread, sequential execution."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        shape = next(i.shape for i in self.session.get_inputs() if i.name == "previous_state_c")
        self.hidden = int(shape[1])
        self.float_precision = "f32"

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        logits, c, h = self.session.run(None, feed)
        return logits[:, 0], c, h


class TorchRunner:
    """A ``DeepSpeechChunk`` (FP32, or after dynamic INT8 quantization) in eager PyTorch, ``torch.inference_mode``,
    ``torch.set_num_threads(threads)``."""

    def __init__(self, path: Path, hidden: int, quantized: bool, threads: int) -> None:
        import torch

        from _peers.deepspeech_torch import load_torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.module = load_torch(path, hidden, quantized)
        self.hidden = hidden
        self.float_precision = "f32"

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            probs, c, h = self.module(*(torch.from_numpy(feed[name]) for name in
                                        ("input_node", "previous_state_c", "previous_state_h")))
        return probs.numpy()[:, 0], c.numpy(), h.numpy()


def make_runner(artifact: dict[str, Any], threads: int) -> Runner:
    """The runner of a saved model: ``artifact`` = ``{"format": "openvino" | "onnx" | "torch", "path", ...}``."""
    kind = artifact["format"]
    if kind == "openvino":
        return OpenVINORunner(Path(artifact["path"]), threads, artifact.get("precision", "f32"))
    if kind == "onnx":
        return OnnxRuntimeRunner(Path(artifact["path"]), threads)
    if kind == "torch":
        return TorchRunner(Path(artifact["path"]), int(artifact["hidden"]), bool(artifact.get("quantized")), threads)
    raise ValueError(f"unknown model format {kind!r}")


def stream(runner: Runner, windows: np.ndarray, clock: Callable[[], float] | None = None,
           times: list[float] | None = None) -> np.ndarray:
    """Probabilities ``[T, 29]`` of one utterance (windows ``[T, 19, 26]``), chunk by chunk with carried state;
    with ``clock`` and ``times``, each chunk's inference time (seconds) is appended to ``times``."""
    c = np.zeros((1, runner.hidden), np.float32)
    h = np.zeros((1, runner.hidden), np.float32)
    outputs = []
    for chunk in chunks_of(windows):
        feed = {"input_node": chunk, "previous_state_c": c, "previous_state_h": h}
        if clock is None:
            probs, c, h = runner.step(feed)
        else:
            start = clock()
            probs, c, h = runner.step(feed)
            times.append(clock() - start)  # type: ignore[union-attr]
        outputs.append(probs)
    return np.concatenate(outputs)[: len(windows)] if outputs else np.zeros((0, 29), np.float32)


def error_rates(runner: Runner, utterances: Utterances) -> dict[str, float]:
    """Corpus WER and CER (speechq's greedy CTC decoding and jiwer-based scoring, English normalisation)."""
    from speechq.decoding import Vocabulary, greedy_decode
    from speechq.metrics import char_error_rate, word_error_rate

    vocabulary = Vocabulary.deepspeech()
    hypotheses = [greedy_decode(stream(runner, utterances.windows(i)), vocabulary) for i in range(len(utterances))]
    references = list(utterances.texts)
    return {"wer": word_error_rate(references, hypotheses).corpus_rate,
            "cer": char_error_rate(references, hypotheses).corpus_rate, "utterances": len(utterances)}


def speed(runner: Runner, utterances: Utterances, passes: int, warmup: int = 1) -> dict[str, Any]:
    """Single-stream speed over ``utterances``: ``warmup`` untimed passes, then ``passes`` timed ones.

    Returns per-chunk latency (ms: median, p10, p90 over every chunk of every timed pass), pass times (s) and
    throughput (audio seconds per second, from each pass's time).
    """
    windows = [utterances.windows(i) for i in range(len(utterances))]
    audio = sum(len(w) for w in windows) * STEP_SECONDS
    for _ in range(warmup):
        for w in windows:
            stream(runner, w)
    chunk_times: list[float] = []
    pass_times = []
    for _ in range(passes):
        start = time.perf_counter()
        for w in windows:
            stream(runner, w, time.perf_counter, chunk_times)
        pass_times.append(time.perf_counter() - start)
    return {"chunk_ms": [1000 * t for t in chunk_times], "pass_s": pass_times, "audio_seconds": audio,
            "chunks_per_pass": sum(-(-len(w) // CHUNK_STEPS) for w in windows)}


def summarise_speed(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool the raw measurements of several rounds: latency per chunk and throughput, median and p10-p90."""
    chunk_ms = [t for r in raw for t in r["chunk_ms"]]
    pass_s = [t for r in raw for t in r["pass_s"]]
    audio = raw[0]["audio_seconds"]
    throughput = [audio / t for t in pass_s]
    return {"latency_ms": spread(chunk_ms), "throughput": spread(throughput), "pass_s": spread(pass_s),
            "audio_seconds": audio, "chunks_per_pass": raw[0]["chunks_per_pass"], "rounds": len(raw),
            "cores_used": [r.get("cores_used") for r in raw], "load_before": [r.get("load_before") for r in raw]}
