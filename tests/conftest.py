"""Shared fixtures: tiny real OpenVINO models, their data and metrics (built once per session).

Builders live in ``speechq_testing`` (importable from every test folder).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from speechq_testing import (
    CORPUS_SCRIPT,
    LIBRISPEECH_MINI,
    SHIPPED_UTTERANCES,
    Accuracy,
    ArrayLoader,
    build_log_mel_ctc,
    build_mlp,
    build_tiny_deepspeech,
)

import speechq as sq


@pytest.fixture(scope="session")
def librispeech_mini() -> Path:
    """The four real LibriSpeech utterances beside the repository (skips where absent)."""
    if not LIBRISPEECH_MINI.is_dir():
        pytest.skip(f"{LIBRISPEECH_MINI} is absent (real LibriSpeech utterances for tests)")
    return LIBRISPEECH_MINI


@pytest.fixture(scope="session")
def held_out_test_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline corpus's held-out test split (500 utterances, half of them from voices never heard in training),
    synthesised by data_scripts/make_synthetic_corpus.py --splits test: the files the shipped models' figures are
    measured on (about 15 s; skips without espeak-ng and flite, which CI installs)."""
    if shutil.which("espeak-ng") is None or shutil.which("flite") is None:
        pytest.skip("espeak-ng and flite are needed to synthesise the held-out test split")
    out = tmp_path_factory.mktemp("corpus") / "held-out"
    done = subprocess.run([sys.executable, str(CORPUS_SCRIPT), "--out", str(out), "--splits", "test"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return out / "test"


@pytest.fixture(scope="session")
def mlp() -> sq.CompressedModel:
    return sq.CompressedModel.from_ov(build_mlp(), "tiny_mlp")


@pytest.fixture(scope="session")
def mlp_data(mlp: sq.CompressedModel) -> tuple[np.ndarray, list[int]]:
    """60 inputs where every 7th has an outlier of 400 on feature 0 (so INT8 ranges of fc1's input are coarse),
    labelled with the FP32 model's own predictions."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 64)).astype(np.float32)
    x[::7, 0] = 400.0
    compiled = sq.model.get_core().compile_model(mlp.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    labels = [int(np.argmax(compiled(x[i : i + 1])[0])) for i in range(len(x))]
    return x, labels


@pytest.fixture()
def mlp_engine(mlp_data: tuple[np.ndarray, list[int]]) -> sq.IEEngine:
    x, labels = mlp_data
    return sq.IEEngine({"device": "CPU"}, ArrayLoader(x, labels), Accuracy())


@pytest.fixture(scope="session")
def mlp_int8(mlp: sq.CompressedModel, mlp_data: tuple[np.ndarray, list[int]]) -> sq.CompressedModel:
    """The tiny MLP after DefaultQuantization on 30 items (computed once)."""
    x, labels = mlp_data
    engine = sq.IEEngine({"device": "CPU"}, ArrayLoader(x, labels), Accuracy())
    pipeline = sq.create_pipeline([{"name": "DefaultQuantization", "params": {"stat_subset_size": 30}}], engine)
    return pipeline.run(mlp)


@pytest.fixture(scope="session")
def tiny_deepspeech() -> sq.CompressedModel:
    return sq.CompressedModel.from_ov(build_tiny_deepspeech(), "tiny_deepspeech")


@pytest.fixture(scope="session")
def utterance_features() -> list[np.ndarray]:
    """Six random 'MFCC context' sequences [T, 19, 26] of 5 to 70 steps (partial last chunks included)."""
    rng = np.random.default_rng(2)
    return [rng.normal(size=(t, 19, 26)).astype(np.float32) for t in (37, 5, 16, 70, 33, 48)]


@pytest.fixture(scope="session")
def log_mel_ctc() -> sq.CompressedModel:
    """A conv CTC model over DeepSpeech's 29 symbols that computes its log-mel from the waveform (random weights)."""
    return sq.CompressedModel.from_ov(build_log_mel_ctc(vocabulary=29), "log_mel_ctc")


@pytest.fixture(scope="session")
def shipped_waveforms() -> sq.LibriSpeechDataLoader:
    """The shipped test utterances (real speech, with transcripts) as raw waveforms [1, N] in [-1, 1]."""
    return sq.LibriSpeechDataLoader(SHIPPED_UTTERANCES, features=sq.Wav2Vec2Features(do_normalize=False))
