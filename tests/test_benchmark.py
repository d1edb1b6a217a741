"""speechq.benchmark: the latency rows, and the warning when the plugin's default precision computes something else."""

from __future__ import annotations

import logging

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from speechq.benchmark import FP32_DEFAULT, LATENCY_ROWS, compare_latencies, spread


def _grouped_conv(channels: int, kernel: int, groups: int) -> ov.Model:
    """A 1-D grouped convolution like a Wav2Vec2 positional embedding (dynamic length)."""
    rng = np.random.default_rng(0)
    x = ops.parameter([1, channels, -1], np.float32, name="x")
    weights = rng.normal(size=(groups, channels // groups, channels // groups, kernel)).astype(np.float32) * 0.05
    y = ops.group_convolution(x, ops.constant(weights), [1], [kernel // 2], [kernel // 2], [1])
    return ov.Model([y], [x], "grouped_conv")


@pytest.mark.parametrize("shape", [(160, 32, 16), (160, 31, 16)])  # OpenVINO 2026.4's bf16 gets the first wrong on AMX
def test_default_precision_row_warns_when_it_computes_something_else(shape: tuple[int, int, int],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    model = _grouped_conv(*shape)
    x = np.random.default_rng(1).normal(size=(1, shape[0], 200)).astype(np.float32)
    core = ov.Core()
    f32 = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0]
    default = core.compile_model(model, "CPU")(x)[0]
    wrong = np.abs(default - f32).mean() / np.abs(f32).mean() > 0.25

    with caplog.at_level(logging.WARNING, logger="speechq.benchmark"):
        rows = compare_latencies(model, model, [{"x": x}], repeats=2, warmup=0)
    assert [row.label for row in rows] == [label for label, _, _ in LATENCY_ROWS]
    warned = [r.getMessage() for r in caplog.records if "wrong computation" in r.getMessage()]
    assert bool(warned) == wrong
    if wrong:  # names the row, the precision the plugin chose and the output
        chosen = next(row.precision for row in rows if row.label == FP32_DEFAULT)
        assert chosen != "f32" and FP32_DEFAULT in warned[0] and f"({chosen})" in warned[0]


def test_no_warning_for_a_model_bf16_runs_right(caplog: pytest.LogCaptureFixture) -> None:
    """The shipped DeepSpeech model on real chunks: bf16 moves its outputs by well under 1%, yet flips the arg-max of
    its LSTM state outputs at some positions (near-ties, not symbols): no warning."""
    from speechq.data import read_audio
    from speechq.features import context_windows, deepspeech_mfcc
    from speechq.zoo.specs import RECIPES
    from speechq_testing import OMZ_STATE_C, OMZ_STATE_H, SHIPPED_UTTERANCES

    path = RECIPES["deepspeech"].default_model
    if path is None or not path.exists():
        pytest.skip("the shipped DeepSpeech model is not built")
    model = ov.Core().read_model(path)
    windows = context_windows(deepspeech_mfcc(read_audio(sorted(SHIPPED_UTTERANCES.glob("*/*/*.flac"))[0])))
    hidden = model.input("previous_state_c").get_partial_shape()[1].get_length()
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    state = {"previous_state_c": np.zeros((1, hidden), np.float32), "previous_state_h": np.zeros((1, hidden), np.float32)}
    chunks = []  # the utterance's whole chunks with the state carried, as the streaming engine feeds them
    for start in range(0, len(windows) - 15, 16):
        chunks.append({"input_node": np.ascontiguousarray(windows[None, start : start + 16], np.float32), **state})
        out = compiled(chunks[-1])
        state = {"previous_state_c": out[OMZ_STATE_C], "previous_state_h": out[OMZ_STATE_H]}
    with caplog.at_level(logging.WARNING, logger="speechq.benchmark"):
        compare_latencies(model, model, chunks, repeats=2, warmup=0)
    assert not [r for r in caplog.records if "wrong computation" in r.getMessage()]


@pytest.mark.parametrize("times", [[1.0, 50.0, 50.0, 50.0, 50.0], [1.0, 1.0, 1.0, 1.0, 100.0], [3.0, 2.0], [7.0]])
def test_the_spread_of_times_stays_within_them(times: list[float]) -> None:
    """Few runs with an outlier: the 10th and 90th percentiles lie within the measured times (extrapolated ones went
    below zero and failed a benchmark run's own ordering check)."""
    median, p10, p90 = spread(times)
    assert min(times) <= p10 <= median <= p90 <= max(times)
    assert median == sorted(times)[len(times) // 2] or len(times) % 2 == 0
