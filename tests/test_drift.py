"""After quantization speechq compares INT8 with FP32 on calibration inputs and warns when outputs drifted far."""

import logging

from speechq.algorithms.default.nncf_backend import quantize_with_nncf
from speechq.drift import check_drift, measure_drift
from speechq.algorithms.graph import prepare_for_quantization


def test_a_model_against_itself_has_not_drifted(tiny_deepspeech, utterance_features, caplog):
    import speechq as sq
    from speechq_testing import ArrayLoader

    engine = sq.StreamingEngine({}, ArrayLoader(utterance_features, [None] * len(utterance_features)), None)
    engine.set_model(tiny_deepspeech)
    inputs = engine.collect_model_inputs(sq.IndexSampler(engine.data_loader, [0, 1]))
    with caplog.at_level(logging.INFO, logger="speechq.drift"):
        drifts = check_drift(tiny_deepspeech.model, tiny_deepspeech.model, inputs, outputs=engine.result_outputs)
    assert [(d.output, d.relative_error, d.agreement, d.items) for d in drifts] == [("logits", 0.0, 1.0, len(inputs))]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_broken_quantization_is_flagged_and_the_aligned_one_is_closer(caplog):
    """NNCF alone on an LSTM (scales the CPU's int8 RNN cannot honour) against speechq's DefaultQuantization."""
    import numpy as np

    import speechq as sq
    from speechq_testing import ArrayLoader, build_tiny_deepspeech

    rng = np.random.default_rng(5)
    utterances = [rng.normal(size=(48, 19, 26)).astype(np.float32) for _ in range(4)]
    model = sq.CompressedModel.from_ov(build_tiny_deepspeech(hidden=32, seed=3), "lstm")
    engine = sq.StreamingEngine({}, ArrayLoader(utterances, [None] * 4), None)
    algorithm = sq.DefaultQuantization({"stat_subset_size": 4}, engine)
    inputs = algorithm.calibration_inputs(model)
    raw = quantize_with_nncf(prepare_for_quantization(model.model), inputs, algorithm.params)
    with caplog.at_level(logging.WARNING, logger="speechq.drift"):
        raw_drift = check_drift(model.model, raw, inputs, outputs=["logits"])
    assert raw_drift[0].drifted
    assert any("'logits' drifted far from FP32" in r.getMessage() for r in caplog.records)
    aligned = measure_drift(model.model, algorithm.run(model).model, inputs, outputs=["logits"])
    assert aligned[0].relative_error < raw_drift[0].relative_error / 2
    assert aligned[0].agreement > raw_drift[0].agreement
