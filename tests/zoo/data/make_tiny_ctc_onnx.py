"""Writes tiny_ctc_fp16.onnx beside this file: a CTC model as PyTorch/NeMo-style exports look, with fp16 weights.

Inputs ``audio`` [batch, samples] float32 and ``audio_length`` [batch] int64; outputs ``log_probs`` [batch, frames,
29] (log-softmax over DeepSpeech's 29 symbols, blank last) and ``log_probs_length`` [batch] int64 =
``(audio_length - 400) // 160 + 1``. Body: Conv1d (16 channels, kernel 400, stride 160) on the waveform, ReLU, 1x1
Conv1d to 29 symbols; weights stored as float16 initializers behind Cast nodes. Random weights (seed 0): for
interface tests, not accuracy. Needs the ``onnx`` package (not a speechq dependency); the file is committed so that
tests run without it: ``python tests/zoo/data/make_tiny_ctc_onnx.py``.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SYMBOLS, CHANNELS, KERNEL, STRIDE = 29, 16, 400, 160


def _fp16(name: str, array: np.ndarray) -> tuple[onnx.TensorProto, onnx.NodeProto]:
    return (numpy_helper.from_array(array.astype(np.float16), f"{name}_fp16"),
            helper.make_node("Cast", [f"{name}_fp16"], [name], to=TensorProto.FLOAT))


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.normal(size=(CHANNELS, 1, KERNEL)) / 20, "b1": rng.normal(0, 0.1, CHANNELS),
        "w2": rng.normal(size=(SYMBOLS, CHANNELS, 1)) / 4, "b2": rng.normal(0, 0.1, SYMBOLS),
    }
    initializers, casts = zip(*(_fp16(name, value) for name, value in weights.items()))
    constants = [numpy_helper.from_array(np.array(v, np.int64), n)
                 for n, v in (("axes", [1]), ("kernel", KERNEL), ("stride", STRIDE), ("one", 1))]
    nodes = [
        *casts,
        helper.make_node("Unsqueeze", ["audio", "axes"], ["audio_1n"]),
        helper.make_node("Conv", ["audio_1n", "w1", "b1"], ["conv1"], kernel_shape=[KERNEL], strides=[STRIDE]),
        helper.make_node("Relu", ["conv1"], ["relu1"]),
        helper.make_node("Conv", ["relu1", "w2", "b2"], ["scores"], kernel_shape=[1]),
        helper.make_node("Transpose", ["scores"], ["scores_btv"], perm=[0, 2, 1]),
        helper.make_node("LogSoftmax", ["scores_btv"], ["log_probs"], axis=2),
        helper.make_node("Sub", ["audio_length", "kernel"], ["after_first"]),
        helper.make_node("Div", ["after_first", "stride"], ["steps"]),
        helper.make_node("Add", ["steps", "one"], ["log_probs_length"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_ctc_fp16",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", "samples"]),
         helper.make_tensor_value_info("audio_length", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["batch", "frames", SYMBOLS]),
         helper.make_tensor_value_info("log_probs_length", TensorProto.INT64, ["batch"])],
        initializer=[*initializers, *constants],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="speechq-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    target = Path(__file__).with_name("tiny_ctc_fp16.onnx")
    onnx.save(build(), target)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
