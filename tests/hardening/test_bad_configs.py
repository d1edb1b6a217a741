"""Bad algorithm configurations, one row per case: ``create_pipeline`` (API) raises a ConfigError naming the
algorithm or parameter; ``speechq quantize`` (flags or a POT JSON config) ends in one error line naming it.
Two rows are documented behaviours rather than errors (POT's): ``stat_subset_size`` larger than the data set is
capped with a warning, and an unreachable ``maximal_drop`` returns the best model with ``reached=False``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from _cases import assert_cli_error, model_leftovers, run_cli, slow_rows, tone, write_audio

import speechq as sq
from speechq.errors import ConfigError

DQ, AAQ = "DefaultQuantization", "AccuracyAwareQuantization"

API_CASES = [
    pytest.param("FastQuantization", {}, ["unknown algorithm", "'FastQuantization'", DQ], id="unknown-algorithm"),
    pytest.param(DQ, {"stat_subset_sise": 300}, ["unknown parameter(s) ['stat_subset_sise']", "'stat_subset_size'"],
                 id="unknown-parameter"),
    pytest.param(DQ, {"activations": {"range_estimator": {"max": {"typ": "max"}}}},
                 ["activations.range_estimator.max", "['typ']"], id="unknown-nested-parameter"),
    pytest.param(DQ, {"stat_subset_size": "300"}, ["'stat_subset_size' must be a positive integer, got '300' (str)"],
                 id="stat_subset_size-as-string"),
    pytest.param(DQ, {"stat_subset_size": 0}, ["'stat_subset_size' must be a positive integer, got 0"],
                 id="stat_subset_size-zero"),
    pytest.param(DQ, {"sensitivity_int8_alone": True},
                 ["'sensitivity_int8_alone' needs 'sensitivity_subset_size'"], id="sensitivity_int8_alone-alone"),
    pytest.param(DQ, {"preset": "fastest"}, ["'preset' must be one of", "'fastest'"], id="unknown-preset"),
    pytest.param(DQ, {"shuffle_data": "yes"}, ["'shuffle_data' must be true or false, got 'yes'"], id="bool-as-string"),
    pytest.param(AAQ, {"maximal_drop": -0.01}, ["'maximal_drop' must be >= 0.0, got -0.01"], id="maximal_drop-below-zero"),
    pytest.param(AAQ, {"maximal_drop": "1%"}, ["'maximal_drop' must be a number, got '1%'"], id="maximal_drop-as-string"),
    pytest.param(DQ, {"maximal_drop": 0.01}, ["unknown parameter(s) ['maximal_drop']"], id="maximal_drop-for-default"),
]


@pytest.mark.parametrize(("name", "params", "culprits"), API_CASES)
def test_create_pipeline_names_the_bad_parameter(mlp_engine: sq.IEEngine, name: str, params: dict[str, Any],
                                                 culprits: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        sq.create_pipeline([{"name": name, "params": params}], mlp_engine)
    for culprit in culprits:
        assert culprit in str(raised.value)


def test_stat_subset_size_larger_than_the_data_set_is_capped(mlp: sq.CompressedModel, mlp_engine: sq.IEEngine,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """POT's behaviour, kept: a warning naming the parameter, then every item is used."""
    pipeline = sq.create_pipeline([{"name": DQ, "params": {"stat_subset_size": 1000}}], mlp_engine)
    with caplog.at_level(logging.WARNING, logger="speechq"):
        int8 = pipeline.run(mlp)
    assert "stat_subset_size 1000 is larger than the data set (60 items): using all 60" in caplog.text
    assert any(op.get_type_name() == "FakeQuantize" for op in int8.model.get_ops())


def test_unreachable_maximal_drop_returns_the_best_model(mlp: sq.CompressedModel, mlp_engine: sq.IEEngine,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """POT's behaviour, kept: the best model found is returned, ``result.reached`` is False, a warning names
    maximal_drop."""
    pipeline = sq.create_pipeline(
        [{"name": AAQ, "params": {"stat_subset_size": 30, "maximal_drop": 0.0, "max_iter_num": 1}}], mlp_engine)
    with caplog.at_level(logging.WARNING, logger="speechq"):
        pipeline.run(mlp)
    result = pipeline.algorithms[0].result
    assert not result.reached and result.drop > 0.0
    assert "maximal_drop 0.00000 NOT reached" in caplog.text


def test_full_bias_correction_on_the_shipped_lstm_names_use_fast_bias() -> None:
    """NNCF's BiasCorrection (``use_fast_bias: false``) compiles subgraphs the CPU plugin refuses for the shipped
    DeepSpeech model's LSTMSequence: one ConfigError naming the parameter and the node, not the plugin's trace."""
    from speechq.workflows import make_engine, make_loader
    from speechq.zoo import get_recipe

    spec = get_recipe("deepspeech")
    engine = make_engine(spec, make_loader(spec, spec.default_data), None)
    algorithm = sq.DefaultQuantization({"stat_subset_size": 1, "use_fast_bias": False}, engine)
    with pytest.raises(ConfigError, match=r"use_fast_bias: false runs NNCF's BiasCorrection.*LSTMSequence "
                                          r"'cudnn_lstm/.*use_fast_bias: true \(the default\)"):
        algorithm.quantize(sq.load_model(spec.default_model))


# ------------------------------------------------------------------------------------------------ CLI
def _pot_config(folder: Path, tiny_ir: Path, corpus: Path, algorithm: Any, params: Any, **extra: Any) -> Path:
    config = {
        "model": {"model_name": "model", "model": str(tiny_ir)},
        "engine": {"type": "simplified", "data_source": str(corpus)},
        "compression": {"algorithms": [{"name": algorithm, "params": params}]},
        **extra,
    }
    path = folder / "pot.json"
    path.write_text(json.dumps(config))
    return path


CONFIG_CASES = [
    pytest.param(AAQ.replace("Accuracy", "Acuracy"), {}, {}, ["unknown algorithm 'AcuracyAwareQuantization'"],
                 id="config-unknown-algorithm"),
    pytest.param(DQ, {"stat_subset_size": 2, "presett": "mixed"}, {}, ["unknown parameter(s) ['presett']"],
                 id="config-unknown-parameter"),
    pytest.param(DQ, {"stat_subset_size": "300"}, {}, ["'stat_subset_size' must be a positive integer, got '300' (str)"],
                 id="config-stat_subset_size-as-string"),
    pytest.param(AAQ, {"stat_subset_size": 2, "maximal_drop": -1}, {}, ["'maximal_drop' must be >= 0.0, got -1"],
                 id="config-maximal_drop-below-zero"),
    pytest.param(DQ, {}, {"dataset": {}}, ["unknown parameter(s) ['dataset']"], id="config-unknown-section"),
]


@pytest.mark.parametrize(("algorithm", "params", "extra", "culprits"),
                         slow_rows(CONFIG_CASES, {"config-unknown-parameter", "config-maximal_drop-below-zero",
                                                  "config-unknown-section"}))
def test_cli_pot_config_names_the_bad_parameter(tmp_path: Path, tiny_ir: Path, corpus: Path, algorithm: str,
                                                params: dict[str, Any], extra: dict[str, Any], culprits: list[str]) -> None:
    config = _pot_config(tmp_path, tiny_ir, corpus, algorithm, params, **extra)
    done = run_cli("quantize", "-c", config, "-o", tmp_path / "out", "--no-progress")
    assert_cli_error(done, "quantize", *culprits)
    assert model_leftovers(tmp_path / "out") == []


def test_cli_config_that_is_not_json(tmp_path: Path) -> None:
    config = tmp_path / "pot.json"
    config.write_text("{'model': 'single quotes are not JSON'}")
    assert_cli_error(run_cli("quantize", "-c", config, "-o", tmp_path / "out"), "quantize", f"{config}: cannot read the config")


FLAG_CASES = [
    pytest.param(["-a", "fast"], ["argument -a/--algorithm: invalid choice: 'fast'"], id="flag-unknown-algorithm"),
    pytest.param(["--subset-size", "300x"], ["argument --subset-size: invalid int value: '300x'"], id="flag-subset-size-not-int"),
    pytest.param(["--subset-size", "0"], ["'stat_subset_size' must be a positive integer, got 0"], id="flag-subset-size-zero"),
    pytest.param(["-a", "accuracy-aware", "--max-drop", "-0.5"], ["'maximal_drop' must be >= 0.0, got -0.5"],
                 id="flag-max-drop-below-zero"),
    pytest.param(["--max-drop", "0.01"], ["maximal_drop (--max-drop) needs the AccuracyAwareQuantization algorithm"],
                 id="flag-max-drop-without-accuracy-aware"),
    pytest.param(["--recipe", "whisper"], ["unknown recipe 'whisper'"], id="flag-unknown-recipe"),
]


@pytest.mark.parametrize(("flags", "culprits"),
                         slow_rows(FLAG_CASES, {"flag-subset-size-not-int", "flag-subset-size-zero",
                                                "flag-max-drop-without-accuracy-aware", "flag-unknown-recipe"}))
def test_cli_flags_name_the_bad_parameter(tmp_path: Path, tiny_ir: Path, corpus: Path, flags: list[str],
                                          culprits: list[str]) -> None:
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", tmp_path / "out", "--no-progress", *flags)
    assert_cli_error(done, "quantize", *culprits)
    assert model_leftovers(tmp_path / "out") == []


@pytest.mark.slow  # a whole quantization (the API row above checks the same)
def test_cli_subset_size_larger_than_the_data_set_is_capped(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", tmp_path / "out", "--no-progress", "--subset-size", "50")
    assert done.returncode == 0, done.stderr
    assert "stat_subset_size 50 is larger than the data set (3 items): using all 3" in done.stderr
    assert model_leftovers(tmp_path / "out") == ["model.bin", "model.xml"]


def test_cli_by_speaker_names_an_utterance_without_a_speaker(tmp_path: Path, tiny_ir: Path) -> None:
    write_audio(tmp_path / "audio" / "take1.flac", tone())
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "take1.txt").write_text("A TONE", encoding="utf-8")
    done = run_cli("eval", tiny_ir, "-d", tmp_path / "audio", "--label-dir", tmp_path / "labels", "--by-speaker")
    assert_cli_error(done, "eval", "utterance 'take1' names no speaker", "one folder per speaker")
