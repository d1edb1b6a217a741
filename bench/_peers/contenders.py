"""The contenders of each architecture: who quantizes, which runtime runs the result, which FP32 baseline it is
compared with. The keys are the same for both architectures (the JSON and the tests read them alike); labels say
what differs (PyTorch's dynamic INT8 takes the LSTM too where there is one)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contender:
    """One row of the benchmark.

    Attributes:
        key: identifier in the JSON; label: what the table says; tool: who quantized (``baseline`` for FP32);
        runtime: ``openvino``, ``onnxruntime`` or ``torch``; quantizer: the quantization task (None for FP32);
        needs: Python modules it cannot run without; trained_only: quantized only on the trained model (its choice
        of layers depends on the trained weights: accuracy-aware methods); precision: OpenVINO's inference precision
        hint for the float layers; baseline: the FP32 row of the same runtime; growth: measured at several
        calibration subset sizes.
    """

    key: str
    label: str
    tool: str
    runtime: str
    quantizer: str | None = None
    needs: tuple[str, ...] = ()
    trained_only: bool = False
    precision: str = "f32"
    baseline: str = "openvino_fp32"
    growth: bool = False


_COMMON: tuple[Contender, ...] = (
    Contender("openvino_fp32", "OpenVINO FP32 (f32)", "baseline", "openvino"),
    Contender("openvino_fp32_default", "OpenVINO FP32 (default precision)", "baseline", "openvino",
              precision="default"),
    Contender("torch_fp32", "PyTorch FP32", "baseline", "torch", needs=("torch",), baseline="torch_fp32"),
    Contender("onnxruntime_fp32", "ONNX Runtime FP32", "baseline", "onnxruntime",
              needs=("torch", "onnx", "onnxruntime"), baseline="onnxruntime_fp32"),
    Contender("speechq_default", "speechq DefaultQuantization", "speechq", "openvino", "speechq_default",
              growth=True),
    Contender("speechq_accuracy_aware", "speechq AccuracyAwareQuantization", "speechq", "openvino",
              "speechq_accuracy_aware", trained_only=True),
    Contender("nncf", "NNCF nncf.quantize", "nncf", "openvino", "nncf", growth=True),
    Contender("nncf_accuracy_control", "NNCF quantize_with_accuracy_control", "nncf", "openvino",
              "nncf_accuracy_control", trained_only=True),
    Contender("onnxruntime_qdq", "ONNX Runtime static INT8 (QDQ, per-channel)", "onnxruntime", "onnxruntime",
              "onnxruntime_qdq", needs=("torch", "onnx", "onnxruntime"), baseline="onnxruntime_fp32", growth=True),
    Contender("torch_dynamic", "PyTorch dynamic INT8 (LSTM + Linear)", "torch", "torch", "torch_dynamic",
              needs=("torch",), baseline="torch_fp32"),
    Contender("pot_default", "POT DefaultQuantization (openvino-dev 2023.3)", "pot", "openvino", "pot_default",
              growth=True),
)


def _wav2vec2(contender: Contender) -> Contender:
    """The Wav2Vec2 row: PyTorch's dynamic INT8 takes the Linear layers; the PyTorch and ONNX models are Hugging
    Face's ``Wav2Vec2ForCTC`` (transformers needed)."""
    from dataclasses import replace

    if contender.runtime == "openvino":
        return contender
    label = "PyTorch dynamic INT8 (Linear)" if contender.key == "torch_dynamic" else contender.label
    return replace(contender, label=label, needs=(*contender.needs, "transformers"))


CONTENDERS: dict[str, tuple[Contender, ...]] = {"deepspeech": _COMMON,
                                                "wav2vec2": tuple(_wav2vec2(c) for c in _COMMON)}
BY_KEY: dict[str, dict[str, Contender]] = {arch: {c.key: c for c in cs} for arch, cs in CONTENDERS.items()}
