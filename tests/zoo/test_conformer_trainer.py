"""data_scripts/_train_conformer.py's model: a conformer that computes its log-mel spectrogram in the graph. Its
OpenVINO export matches PyTorch, reads the waveform through an STFT that speechq recognises as a front end to keep
FP32, and speaks the ctc recipe's interface."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("librosa")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "data_scripts"))

import _train_conformer as conformer  # noqa: E402
import _train_wav2vec2 as w2v  # noqa: E402
from speechq.algorithms.front_end import SPECTRAL_FRONT_END, find_fp32_front_end  # noqa: E402
from speechq.algorithms.graph import prepare_for_quantization  # noqa: E402
from speechq.model import get_core  # noqa: E402

TINY = conformer.ConformerTrainConfig(channels=4, d_model=16, layers=1, heads=2, kernel=5, dropout=0.0)


@pytest.fixture(scope="module")
def exported() -> tuple[torch.nn.Module, object]:
    torch.manual_seed(0)
    model = conformer.new_model(TINY).eval()
    return model, conformer.export_openvino(model)


def test_export_matches_pytorch_on_utterances_of_other_lengths(exported: tuple[torch.nn.Module, object]) -> None:
    model, ir = exported
    compiled = get_core().compile_model(ir, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    rng = np.random.default_rng(0)
    waves = [rng.normal(0, 0.1, n).astype(np.float32) for n in (8_000, 23_456)]  # not the example input's length
    assert w2v.verify_export(compiled, model, waves, tolerance=1e-3) < 1e-3
    frames = [w2v.ir_logits(compiled, [w])[0].shape for w in waves]
    # 10 ms hops, then two stride-2 convolutions: one frame per 40 ms, 32 symbols
    assert frames == [(int(conformer._subsampled(torch.tensor(n // 160 + 1))), 32) for n in (8_000, 23_456)]


def test_the_in_graph_spectrogram_is_found_and_kept_fp32(exported: tuple[torch.nn.Module, object]) -> None:
    _, ir = exported
    assert "STFT" in {op.get_type_name() for op in ir.get_ops()}
    parts = find_fp32_front_end(prepare_for_quantization(ir))
    spectral = [p for p in parts if p.kind == SPECTRAL_FRONT_END]
    assert len(spectral) == 1
    assert any("stft" in node.lower() for node in spectral[0].nodes)
    assert spectral[0].layers  # the mel filterbank MatMul and the first convolution stay FP32 with it


def test_masked_training_features_match_the_unpadded_ones() -> None:
    """Per-utterance normalisation over valid frames only: padding a batch leaves an utterance's features as
    inference sees them (one utterance at a time); normalising over the padding too would shift them."""
    torch.manual_seed(0)
    model = conformer.new_model(TINY).eval()
    # an utterance ends in near-silence, as the corpus's do: the last windows reach past it into zeros (batch) or
    # its reflection (alone), which then differ little
    utterance = torch.cat([torch.randn(1, 8_000), 1e-3 * torch.randn(1, 4_800)], 1)
    batch = torch.zeros(2, 16_000)
    batch[0, : utterance.shape[1]], batch[1] = utterance[0], torch.randn(16_000)
    frames = torch.tensor([utterance.shape[1] // 160 + 1, 16_000 // 160 + 1])
    alone = model.features(utterance, None)[0]
    masked = model.features(batch, frames)[0, : alone.shape[0]]
    unmasked = model.features(batch, None)[0, : alone.shape[0]]
    assert float((masked - alone)[:-3].abs().max()) < 0.02
    assert float((unmasked - alone)[:-3].abs().mean()) > 0.1
