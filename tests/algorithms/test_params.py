import pytest

import speechq as sq
from speechq.algorithms import create_algorithm
from speechq.algorithms.params import AccuracyAwareParams, QuantizationParams


def test_defaults_follow_pot():
    params = QuantizationParams.from_dict({})
    assert (params.preset, params.stat_subset_size, params.stat_batch_size, params.use_fast_bias) == ("performance", 300, 1, True)
    aaq = AccuracyAwareParams.from_dict({})
    assert (aaq.maximal_drop, aaq.drop_type, aaq.ranking_subset_size, aaq.max_iter_num) == (0.01, "absolute", 300, None)


def test_pot_params_are_parsed_into_types():
    params = QuantizationParams.from_dict({
        "target_device": "CPU", "preset": "mixed", "stat_subset_size": 10, "shuffle_data": True, "seed": 3,
        "ignored": {"scope": ["fc1"], "operations": [{"type": "MatMul", "attributes": {"transpose_a": False}}]},
        "activations": {"range_estimator": {"preset": "quantile", "max": {"type": "quantile", "outlier_prob": 1e-3}}},
        "weights": {"bits": 8, "mode": "symmetric", "granularity": "perchannel"},
        "model_type": "transformer", "use_fast_bias": False,
    })
    assert params.ignored_scope == ("fc1",) and params.ignored_operations[0].type == "MatMul"
    assert params.activations.preset == "quantile" and params.activations.max.outlier_prob == 1e-3
    assert params.weights.per_channel is True and params.model_type == "transformer"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"stat_subset_size": "300"}, r"'stat_subset_size' must be a positive integer, got '300' \(str\)"),
        ({"stat_subset_size": 0}, "'stat_subset_size' must be a positive integer"),
        ({"preset": "fast"}, r"'preset' must be one of \['performance', 'mixed', 'accuracy'\], got 'fast'"),
        ({"stat_subset": 3}, r"unknown parameter\(s\) \['stat_subset'\]; valid parameters are \[.*'stat_subset_size'"),
        ({"target_device": "GNA"}, "gone from current OpenVINO"),
        ({"use_fast_bias": "yes"}, "'use_fast_bias' must be true or false"),
        ({"activations": {"range_estimator": {"max": {"aggregator": "hl_estimator"}}}}, "no NNCF equivalent"),
        ({"weights": {"bits": 4}}, "'bits' must be 8"),
        ({"ignored": {"scope": "fc1"}}, "'scope' must be a list"),
        ({"smooth_quant_alphas": 0.5}, r"smooth_quant_alphas: must be a dict"),
        ({"smooth_quant_alphas": {"conv": 0.5}}, r"unknown layer type\(s\) \['conv'\]; valid: \['convolution', 'matmul'\]"),
        ({"smooth_quant_alphas": {"convolution": 1.5}}, r"'convolution' must be in \[-1.0, 1.0\], got 1.5"),
        ({"smooth_quant_alphas": {"matmul": -0.5}}, r"'matmul' must be in \[0, 1\] or -1 \(off\)"),
        ({"smooth_quant_alphas": {"matmul": "0.9"}}, r"'matmul' must be a number"),
        ({"keep_depthwise_fp32": "no"}, r"'keep_depthwise_fp32' must be true or false"),
        ({"saturation_fix": "none"}, r"'saturation_fix' must be one of \['auto', 'all', 'first_layer', 'no'\], got 'none'"),
    ],
)
def test_bad_default_quantization_params_name_the_parameter(params, message):
    with pytest.raises(sq.ConfigError, match=message):
        QuantizationParams.from_dict(params)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"maximal_drop": -0.1}, "'maximal_drop' must be >= 0.0"),
        ({"maximal_drop": "0.01"}, "'maximal_drop' must be a number"),
        ({"drop_type": "percent"}, "'drop_type' must be one of"),
        ({"max_iter_num": 0}, "'max_iter_num' must be a positive integer"),
        ({"tune_hyperparams": True}, r"unknown parameter\(s\) \['tune_hyperparams'\]"),
    ],
)
def test_bad_accuracy_aware_params_name_the_parameter(params, message):
    with pytest.raises(sq.ConfigError, match=message):
        AccuracyAwareParams.from_dict(params)


def test_unknown_algorithm_lists_valid_ones(mlp_engine):
    with pytest.raises(sq.ConfigError, match=r"unknown algorithm 'MinMax'; valid algorithms are \['AccuracyAwareQuantization', 'DefaultQuantization'\]"):
        create_algorithm({"name": "MinMax"}, mlp_engine)
    with pytest.raises(sq.ConfigError, match=r"unknown parameter\(s\) \['parms'\]"):
        sq.create_pipeline([{"name": "DefaultQuantization", "parms": {}}], mlp_engine)
    with pytest.raises(sq.ConfigError, match="'stat_subset_size'"):
        sq.create_pipeline([{"name": "DefaultQuantization", "params": {"stat_subset_size": 1.5}}], mlp_engine)


def test_transformers_default_to_the_mixed_preset():
    """NNCF's choice for transformers (asymmetric activations after GELU and attention); an explicit preset wins."""
    from speechq.algorithms.params import QuantizationParams

    assert QuantizationParams.from_dict({}).preset == "performance"
    assert QuantizationParams.from_dict({"model_type": "transformer"}).preset == "mixed"
    assert QuantizationParams.from_dict({"model_type": "transformer", "preset": "performance"}).preset == "performance"


def test_smooth_quant_alphas_reach_nncf_only_when_given():
    from speechq.algorithms.params import QuantizationParams

    assert QuantizationParams.from_dict({}).smooth_quant_alphas == ()
    given = QuantizationParams.from_dict({"smooth_quant_alphas": {"matmul": -1, "convolution": 0.95}})
    assert given.smooth_quant_alphas == (("convolution", 0.95), ("matmul", -1.0))
