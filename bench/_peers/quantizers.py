"""Each contender's quantization, written as its own documentation shows it (options stated in ``OPTIONS``).

Every function gets the same FP32 model (IR, or the ONNX / PyTorch model rebuilt from the IR's weights), the same
calibration utterances, and writes one INT8 model to ``out``. What is timed (``clock``) is the tool's work: build
its data set from features already in memory, quantize, save. Reading the model and computing features come before
the clock, for every contender alike (speechq's loader computes its features before the clock too).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from _peers.common import Utterances, calibration_feeds, files_bytes, peak_rss_mb

_DEEPSPEECH_OPTIONS = {
    "speechq_default": "speechq.create_pipeline DefaultQuantization (preset performance, stat_subset_size = all "
                       "calibration utterances) through the deepspeech recipe's StreamingEngine: every chunk with the "
                       "LSTM state it really gets; compress_model_weights, save_model",
    "speechq_accuracy_aware": "speechq AccuracyAwareQuantization, maximal_drop {max_drop} (absolute WER), metric "
                              "WordErrorRate on the calibration utterances, otherwise as DefaultQuantization",
    "nncf": "nncf.quantize(model, nncf.Dataset(chunks), subset_size = all chunks), defaults otherwise (preset "
            "performance, fast bias correction); calibration set built by hand: every 16-step chunk with zero "
            "LSTM state; ov.save_model",
    "nncf_accuracy_control": "nncf.quantize_with_accuracy_control(max_drop {max_drop}, drop_type ABSOLUTE), "
                             "calibration as nncf, validation_fn = 1 - WER over the calibration utterances "
                             "(chunked with carried state on the compiled model NNCF passes)",
    "onnxruntime_qdq": "onnxruntime.quantization: quant_pre_process, then quantize_static(QuantFormat.QDQ, "
                       "per_channel=True, activations and weights QInt8, MinMax calibration) on the zero-state chunks; "
                       "run on the CPU execution provider",
    "torch_dynamic": "torch.ao.quantization.quantize_dynamic(model, {{nn.LSTM, nn.Linear}}, dtype=torch.qint8); "
                     "no calibration data",
    "pot_default": "POT (openvino-dev 2023.3.0, own venv) DefaultQuantization (target_device ANY, preset "
                   "performance, stat_subset_size = all chunks) with IEEngine on the zero-state chunks; "
                   "compress_model_weights, save_model; the INT8 IR then runs on the same OpenVINO as the others",
}
_WAV2VEC2_OPTIONS = {
    "speechq_default": "speechq.create_pipeline DefaultQuantization with the wav2vec2 recipe's defaults ({defaults}), "
                       "stat_subset_size = all calibration utterances, through the recipe's WindowedEngine (whole "
                       "utterances: 20 s windows); compress_model_weights, save_model",
    "speechq_accuracy_aware": "speechq AccuracyAwareQuantization, maximal_drop {max_drop} (absolute WER), metric "
                              "WordErrorRate on the calibration utterances, otherwise as DefaultQuantization",
    "nncf": "nncf.quantize(model, nncf.Dataset(input_values), model_type=nncf.ModelType.TRANSFORMER, subset_size = "
            "all utterances), defaults otherwise, as OpenVINO's wav2vec2 quantization notebook; calibration set: each "
            "utterance's normalised waveform [1, N]; ov.save_model",
    "nncf_accuracy_control": "nncf.quantize_with_accuracy_control(max_drop {max_drop}, drop_type ABSOLUTE, "
                             "model_type TRANSFORMER), calibration as nncf, validation_fn = 1 - WER over the "
                             "calibration utterances (greedy decoding of the compiled model NNCF passes)",
    "onnxruntime_qdq": "onnxruntime.quantization: quant_pre_process, then quantize_static(QuantFormat.QDQ, "
                       "per_channel=True, activations and weights QInt8, MinMax calibration) on the normalised "
                       "waveforms of the ONNX export (torch.onnx.export, TorchScript exporter, opset 17); run on the "
                       "CPU execution provider",
    "torch_dynamic": "torch.ao.quantization.quantize_dynamic(model, {{nn.Linear}}, dtype=torch.qint8) on Hugging "
                     "Face's Wav2Vec2ForCTC holding the IR's weights; no calibration data",
    "pot_default": "POT (openvino-dev 2023.3.0, own venv) DefaultQuantization (target_device ANY, model_type "
                   "transformer, preset performance, stat_subset_size = all utterances, as OpenVINO's former POT "
                   "wav2vec2 notebook) with IEEngine on the normalised waveforms; compress_model_weights, save_model; "
                   "the INT8 IR then runs on the same OpenVINO as the others. Only where the IR loads in OpenVINO "
                   "2023.3",
}
OPTIONS: dict[str, dict[str, str]] = {"deepspeech": _DEEPSPEECH_OPTIONS, "wav2vec2": _WAV2VEC2_OPTIONS}


def options_text(architecture: str, quantizer: str, max_drop: float) -> str:
    """What the contender does, as the report states it."""
    from speechq.zoo import get_recipe

    defaults = ", ".join(f"{k} {v}" for k, v in get_recipe(architecture).quantization_defaults.items())
    return OPTIONS[architecture][quantizer].format(max_drop=max_drop, defaults=defaults)


@contextmanager
def clock(result: dict[str, Any]) -> Iterator[None]:
    """Wall time and peak memory (VmHWM) of the block: ``quantize_seconds``, ``rss_before_mb``, ``rss_after_mb``."""
    result["rss_before_mb"] = peak_rss_mb()
    start = time.perf_counter()
    yield
    result["quantize_seconds"] = time.perf_counter() - start
    result["rss_after_mb"] = peak_rss_mb()


def _ir(out: Path, architecture: str) -> dict[str, Any]:
    xml = out / "model.xml"
    return {"format": "openvino", "architecture": architecture, "path": str(xml),
            "bytes": files_bytes([xml, xml.with_suffix(".bin")])}


def speechq_quantize(task: dict[str, Any], accuracy_aware: bool) -> dict[str, Any]:
    """speechq's public API as the architecture's recipe and ``speechq quantize`` compose it (DeepSpeech: preset
    performance; Wav2Vec2: the recipe's ``quantization_defaults``)."""
    import speechq as sq
    from speechq.workflows import make_decoder, make_engine, make_loader
    from speechq.zoo.specs import get_recipe

    spec = get_recipe(task["architecture"])
    model = sq.load_model(task["fp32"]["xml"])
    loader = make_loader(spec, task["manifest"])
    engine = make_engine(spec, loader, make_decoder(spec, spec.vocabulary_for(None)), sq.WordErrorRate())
    for index in range(len(loader)):  # features computed (and cached by the loader) before the clock
        loader[index]
    params: dict[str, Any] = {"preset": "performance", **spec.quantization_defaults, "stat_subset_size": len(loader)}
    if task.get("ignored_layers"):  # an accuracy-aware choice made on the trained model, applied to another one
        params["ignored"] = {"scope": list(task["ignored_layers"])}
    name = "DefaultQuantization"
    if accuracy_aware:
        name = "AccuracyAwareQuantization"
        params.update(maximal_drop=task["max_drop"], drop_type="absolute")
    out = Path(task["out"])
    result: dict[str, Any] = {}
    with clock(result):
        pipeline = sq.create_pipeline([{"name": name, "params": params}], engine)
        int8 = pipeline.run(model)
        sq.compress_model_weights(int8)
        sq.save_model(int8, out, model_name="model")
    aaq = getattr(pipeline.algorithms[0], "result", None)
    if aaq is not None:
        result["fp32_layers"] = list(aaq.reverted_layers)
        result["calibration_wer"] = {"fp32": aaq.baseline, "all_int8": aaq.default_quantized, "final": aaq.final}
    result["artifact"] = _ir(out, task["architecture"])
    return result


def nncf_quantize(task: dict[str, Any], accuracy_control: bool) -> dict[str, Any]:
    """NNCF on the IR as OpenVINO's notebooks use it, with a calibration set built by hand (Wav2Vec2: with
    ``model_type=TRANSFORMER``, as OpenVINO's wav2vec2 notebook)."""
    import nncf
    import openvino as ov

    arch = task["architecture"]
    model = ov.Core().read_model(task["fp32"]["xml"])
    calibration = Utterances.load(Path(task["calibration"])).head(task["count"])
    feeds = calibration_feeds(arch, calibration, task["fp32"]["hidden"])
    inputs = calibration.windows if arch == "deepspeech" else calibration.input_values
    validation = [(inputs(i), calibration.texts[i]) for i in range(len(calibration))]
    out = Path(task["out"])
    result: dict[str, Any] = {"calibration_chunks": len(feeds)}
    ignored = nncf.IgnoredScope(names=list(task["ignored_layers"])) if task.get("ignored_layers") else None
    extra: dict[str, Any] = {} if arch == "deepspeech" else {"model_type": nncf.ModelType.TRANSFORMER}
    with clock(result), nncf_reverted_layers() as reverted:
        dataset = nncf.Dataset(feeds)
        if accuracy_control:
            quantized = nncf.quantize_with_accuracy_control(
                model, dataset, nncf.Dataset(validation), validation_fn=VALIDATION[arch], max_drop=task["max_drop"],
                drop_type=nncf.DropType.ABSOLUTE, subset_size=len(feeds), **extra)
        else:
            quantized = nncf.quantize(model, dataset, subset_size=len(feeds), ignored_scope=ignored, **extra)
        ov.save_model(quantized, out / "model.xml")
    if accuracy_control:
        result["fp32_layers"] = reverted
    result["artifact"] = _ir(out, task["architecture"])
    return result


@contextmanager
def nncf_reverted_layers() -> Iterator[list[str]]:
    """The operations NNCF's accuracy control reverted to floating point, read from the report it logs."""
    import logging

    reverted: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "were reverted back to the floating-point precision" in message:
                reverted.extend(line.strip() for line in message.splitlines()[1:] if line.strip())

    handler = Collect(logging.INFO)
    logger = logging.getLogger("nncf")
    logger.addHandler(handler)
    try:
        yield reverted
    finally:
        logger.removeHandler(handler)


def word_accuracy(compiled: Any, items: Any) -> float:
    """NNCF's validation_fn (higher is better): 1 - WER of the compiled model over ``(windows, text)`` items."""
    from speechq.decoding import Vocabulary, greedy_decode
    from speechq.metrics import word_error_rate

    request = compiled.create_infer_request()
    hidden = compiled.input("previous_state_c").get_partial_shape()[1].get_length()
    vocabulary = Vocabulary.deepspeech()
    references, hypotheses = [], []
    for windows, text in items:
        probs = _stream_request(request, windows, hidden)
        hypotheses.append(greedy_decode(probs, vocabulary))
        references.append(text)
    return 1.0 - word_error_rate(references, hypotheses).corpus_rate


def wav2vec2_word_accuracy(compiled: Any, items: Any) -> float:
    """NNCF's validation_fn for Wav2Vec2: 1 - WER of the compiled model over ``(input_values [1, N], text)`` items,
    one inference per utterance, greedy decoding with the shipped model's vocabulary."""
    from speechq.decoding import greedy_decode
    from speechq.metrics import word_error_rate

    from _peers.runners import vocabulary_of

    request = compiled.create_infer_request()
    vocabulary = vocabulary_of("wav2vec2")
    references, hypotheses = [], []
    for input_values, text in items:
        logits = request.infer({0: input_values})[compiled.output(0)]
        hypotheses.append(greedy_decode(logits[0], vocabulary))
        references.append(text)
    return 1.0 - word_error_rate(references, hypotheses).corpus_rate


VALIDATION: dict[str, Callable[[Any, Any], float]] = {"deepspeech": word_accuracy, "wav2vec2": wav2vec2_word_accuracy}


def _stream_request(request: Any, windows: np.ndarray, hidden: int) -> np.ndarray:
    from _peers.common import chunks_of

    c = np.zeros((1, hidden), np.float32)
    h = np.zeros((1, hidden), np.float32)
    outputs = []
    for chunk in chunks_of(windows):
        result = request.infer({"input_node": chunk, "previous_state_c": c, "previous_state_h": h})
        values = list(result.values())
        outputs.append(values[0][:, 0].copy())
        c, h = values[1].copy(), values[2].copy()
    return np.concatenate(outputs)[: len(windows)]


def onnxruntime_qdq(task: dict[str, Any]) -> dict[str, Any]:
    """ONNX Runtime's static quantization as its documentation recommends for CPUs: pre-processing, QDQ format,
    signed 8-bit activations and weights, per-channel weights."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calibration = Utterances.load(Path(task["calibration"])).head(task["count"])
    feeds = calibration_feeds(task["architecture"], calibration, task["fp32"]["hidden"])

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._items = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    out = Path(task["out"])
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"calibration_chunks": len(feeds)}
    with clock(result):
        prepared = out / "prepared.onnx"
        quant_pre_process(task["fp32"]["onnx"], str(prepared))
        quantize_static(str(prepared), str(out / "model.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    prepared.unlink()
    result["artifact"] = {"format": "onnx", "architecture": task["architecture"], "path": str(out / "model.onnx"),
                          "bytes": files_bytes([out / "model.onnx"])}
    result["runtime_ops"] = _onnx_runtime_ops(out / "model.onnx")
    return result


def _onnx_runtime_ops(path: Path) -> dict[str, int]:
    """Operator types of the graph ONNX Runtime's CPU provider actually executes (after its optimisations: QDQ
    groups fused into QGemm / QLinearMatMul where it has an integer kernel), with counts."""
    import onnx
    import onnxruntime as ort
    from collections import Counter

    optimized = path.with_name("optimized.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(optimized)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    graph = onnx.load(str(optimized), load_external_data=False).graph
    optimized.unlink()
    return dict(sorted(Counter(node.op_type for node in graph.node if node.op_type != "Constant").items()))


def torch_dynamic(task: dict[str, Any]) -> dict[str, Any]:
    """PyTorch's dynamic INT8 (DeepSpeech: LSTM and Linear; Wav2Vec2: Linear), saved as a state dict (Wav2Vec2:
    with its config beside it)."""
    import torch

    arch = task["architecture"]
    if arch == "deepspeech":
        from _peers.deepspeech_torch import dynamic_int8, load_torch

        module = load_torch(Path(task["fp32"]["torch"]), task["fp32"]["hidden"], quantized=False)
    else:
        from _peers.wav2vec2_torch import dynamic_int8, load  # type: ignore[assignment]

        module = load(Path(task["fp32"]["torch"]), quantized=False)
    out = Path(task["out"])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.pt"
    result: dict[str, Any] = {}
    with clock(result):
        quantized = dynamic_int8(module)  # type: ignore[arg-type]
        torch.save(quantized.state_dict(), path)
    if arch != "deepspeech":
        config = Path(task["fp32"]["torch"]).with_suffix(".config.json")
        path.with_suffix(".config.json").write_bytes(config.read_bytes())
    result["artifact"] = {"format": "torch", "architecture": arch, "path": str(path), "hidden": task["fp32"]["hidden"],
                          "quantized": True, "bytes": files_bytes([path])}
    return result


QUANTIZERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "speechq_default": lambda task: speechq_quantize(task, accuracy_aware=False),
    "speechq_accuracy_aware": lambda task: speechq_quantize(task, accuracy_aware=True),
    "nncf": lambda task: nncf_quantize(task, accuracy_control=False),
    "nncf_accuracy_control": lambda task: nncf_quantize(task, accuracy_control=True),
    "onnxruntime_qdq": onnxruntime_qdq,
    "torch_dynamic": torch_dynamic,
}
