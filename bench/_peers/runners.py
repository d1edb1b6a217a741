"""One loop per architecture for every runtime, through which WER and speed are measured for every contender.

A runner wraps one model in one runtime (OpenVINO, ONNX Runtime, PyTorch) with a fixed number of threads and does
one inference: ``step(feed) -> outputs``. DeepSpeech: one 16-step chunk, ``(probabilities [16, 29], c, h)``, the
LSTM state carried from chunk to chunk and zero at each utterance (``stream``); Wav2Vec2: one whole utterance,
``(logits [T, 32],)`` (``whole``). Word error rates and speed are measured through the same loop for every
contender, so differences come from the models and runtimes, not from the harness.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from _peers.common import STEP_SECONDS, Utterances, chunks_of, inference_count, spread

OV_STATE_C = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"
OV_STATE_H = "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.1"


OUTPUTS = {"deepspeech": ("logits", OV_STATE_C, OV_STATE_H), "wav2vec2": ("logits",)}


class Runner(Protocol):
    architecture: str
    hidden: int

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]: ...


def _squeeze_batch(architecture: str, outputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The batch axis off the symbol scores: DeepSpeech ``[16, 1, 29]`` -> ``[16, 29]``, Wav2Vec2 ``[1, T, 32]`` ->
    ``[T, 32]`` (state outputs unchanged)."""
    scores = outputs[0][:, 0] if architecture == "deepspeech" else outputs[0][0]
    return (scores, *outputs[1:])


class OpenVINORunner:
    """An IR on OpenVINO's CPU plugin: ``precision`` is ``INFERENCE_PRECISION_HINT`` (``f32``) or ``default`` (the
    plugin's choice: bf16 on CPUs with AVX-512 BF16 or AMX); latency hint, ``threads`` inference threads."""

    def __init__(self, xml: Path, threads: int, precision: str = "f32", architecture: str = "deepspeech") -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(xml))
        properties: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
        if precision != "default":
            properties["INFERENCE_PRECISION_HINT"] = precision
        self.architecture = architecture
        self.compiled = core.compile_model(model, "CPU", properties)
        self.request = self.compiled.create_infer_request()
        self.hidden = (self.compiled.input("previous_state_c").get_partial_shape()[1].get_length()
                       if architecture == "deepspeech" else 0)
        names = [output.get_names() for output in self.compiled.outputs]
        self._outputs = [self._index(names, name, i) for i, name in enumerate(OUTPUTS[architecture])]
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.float_precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)

    @staticmethod
    def _index(names: list[set[str]], name: str, fallback: int) -> int:
        return next((i for i, n in enumerate(names) if name in n), fallback)

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        self.request.infer(feed)
        outputs = tuple(self.request.get_output_tensor(i).data.copy() for i in self._outputs)
        return _squeeze_batch(self.architecture, outputs)


class OnnxRuntimeRunner:
    """An ONNX model on ONNX Runtime's CPU execution provider: all graph optimisations, ``threads`` intra-op
    threads, one inter-op thread, sequential execution."""

    def __init__(self, path: Path, threads: int, architecture: str = "deepspeech") -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.architecture = architecture
        shape = next((i.shape for i in self.session.get_inputs() if i.name == "previous_state_c"), [0, 0])
        self.hidden = int(shape[1])
        self.float_precision = "f32"

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        return _squeeze_batch(self.architecture, tuple(self.session.run(None, feed)))


class TorchRunner:
    """A ``DeepSpeechChunk`` or Hugging Face ``Wav2Vec2ForCTC`` (FP32, or after dynamic INT8 quantization) in eager
    PyTorch, ``torch.inference_mode``, ``torch.set_num_threads(threads)``."""

    def __init__(self, path: Path, hidden: int, quantized: bool, threads: int,
                 architecture: str = "deepspeech") -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.architecture = architecture
        if architecture == "deepspeech":
            from _peers.deepspeech_torch import load_torch

            self.module = load_torch(path, hidden, quantized)
        else:
            from _peers import wav2vec2_torch

            self.module = wav2vec2_torch.load(path, quantized)
        self.hidden = hidden
        self.float_precision = "f32"

    def step(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        torch = self.torch
        with torch.inference_mode():
            if self.architecture == "deepspeech":
                outputs = self.module(*(torch.from_numpy(feed[name]) for name in
                                        ("input_node", "previous_state_c", "previous_state_h")))
            else:
                outputs = (self.module(torch.from_numpy(feed["input_values"])).logits,)
        return _squeeze_batch(self.architecture, tuple(o.numpy() for o in outputs))


def make_runner(artifact: dict[str, Any], threads: int) -> Runner:
    """The runner of a saved model: ``artifact`` = ``{"format": "openvino" | "onnx" | "torch", "architecture",
    "path", ...}`` (no ``architecture``: DeepSpeech, as the JSON of earlier runs)."""
    kind, arch = artifact["format"], artifact.get("architecture", "deepspeech")
    if kind == "openvino":
        return OpenVINORunner(Path(artifact["path"]), threads, artifact.get("precision", "f32"), arch)
    if kind == "onnx":
        return OnnxRuntimeRunner(Path(artifact["path"]), threads, arch)
    if kind == "torch":
        return TorchRunner(Path(artifact["path"]), int(artifact["hidden"]), bool(artifact.get("quantized")), threads,
                           arch)
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


def whole(runner: Runner, input_values: np.ndarray, clock: Callable[[], float] | None = None,
          times: list[float] | None = None) -> np.ndarray:
    """Logits ``[T, 32]`` of one utterance (``input_values`` ``[1, N]``) in one inference; with ``clock`` and
    ``times``, its time (seconds) is appended to ``times``."""
    start = clock() if clock is not None else 0.0
    logits = runner.step({"input_values": input_values})[0]
    if clock is not None:
        times.append(clock() - start)  # type: ignore[union-attr]
    return logits


def scores(runner: Runner, utterances: Utterances, index: int, clock: Callable[[], float] | None = None,
           times: list[float] | None = None) -> np.ndarray:
    """Symbol scores ``[T, V]`` of utterance ``index`` through the architecture's loop (``stream`` or ``whole``)."""
    if runner.architecture == "deepspeech":
        return stream(runner, utterances.windows(index), clock, times)
    return whole(runner, utterances.input_values(index), clock, times)


def vocabulary_of(architecture: str) -> Any:
    """The vocabulary the architecture's models decode with (DeepSpeech's 29 symbols; the shipped Wav2Vec2 model's
    ``vocab.json``), as speechq's recipes choose it."""
    from speechq.zoo import get_recipe

    return get_recipe(architecture).vocabulary_for(None)


def error_rates(runner: Runner, utterances: Utterances) -> dict[str, float]:
    """Corpus WER and CER (speechq's greedy CTC decoding and jiwer-based scoring, English normalisation)."""
    from speechq.decoding import greedy_decode
    from speechq.metrics import char_error_rate, word_error_rate

    vocabulary = vocabulary_of(runner.architecture)
    hypotheses = [greedy_decode(scores(runner, utterances, i), vocabulary) for i in range(len(utterances))]
    references = list(utterances.texts)
    return {"wer": word_error_rate(references, hypotheses).corpus_rate,
            "cer": char_error_rate(references, hypotheses).corpus_rate, "utterances": len(utterances)}


def speed(runner: Runner, utterances: Utterances, passes: int, warmup: int = 1) -> dict[str, Any]:
    """Single-stream speed over ``utterances``: ``warmup`` untimed passes, then ``passes`` timed ones.

    Returns the latency of each inference (ms; DeepSpeech: each 16-step chunk, Wav2Vec2: each utterance) of every
    timed pass, pass times (s) and throughput (audio seconds per second, from each pass's time).
    """
    if runner.architecture == "deepspeech":
        audio = sum(len(m) for m in utterances.features) * STEP_SECONDS  # the steps the model sees
    else:
        audio = sum(utterances.audio_seconds)
    for _ in range(warmup):
        for index in range(len(utterances)):
            scores(runner, utterances, index)
    chunk_times: list[float] = []
    pass_times = []
    for _ in range(passes):
        start = time.perf_counter()
        for index in range(len(utterances)):
            scores(runner, utterances, index, time.perf_counter, chunk_times)
        pass_times.append(time.perf_counter() - start)
    return {"chunk_ms": [1000 * t for t in chunk_times], "pass_s": pass_times, "audio_seconds": audio,
            "chunks_per_pass": inference_count(runner.architecture, utterances)}


def summarise_speed(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool the raw measurements of several rounds: latency per chunk and throughput, median and p10-p90."""
    chunk_ms = [t for r in raw for t in r["chunk_ms"]]
    pass_s = [t for r in raw for t in r["pass_s"]]
    audio = raw[0]["audio_seconds"]
    throughput = [audio / t for t in pass_s]
    return {"latency_ms": spread(chunk_ms), "throughput": spread(throughput), "pass_s": spread(pass_s),
            "audio_seconds": audio, "chunks_per_pass": raw[0]["chunks_per_pass"], "rounds": len(raw),
            "cores_used": [r.get("cores_used") for r in raw], "load_before": [r.get("load_before") for r in raw]}
