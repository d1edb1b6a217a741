"""data_scripts/train_small_models.py on a tiny corpus: the same corpus and seed train the same weights in another
process, the kept weights are those of the epoch with the lowest dev CER, and ``--reuse-training`` exports exactly
the model the training run exported. (Tiny settings: these runs check the machinery, not accuracy.)"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from speechq_testing import load_script

torch = pytest.importorskip("torch")

SCRIPTS = Path(__file__).resolve().parents[2] / "data_scripts"
sys.path.insert(0, str(SCRIPTS))

import _train_deepspeech as ds  # noqa: E402
import _training as common  # noqa: E402
# model -> (checkpoint name, tiny overrides)
MODELS = {
    "deepspeech": ("deepspeech_small", ["hidden=24", "epochs=3", "speeds=0.9,1.0", "batch_frames=600"]),
    "wav2vec2": ("wav2vec2_small", ["hidden=32", "layers=1", "heads=2", "intermediate=64",
                                    "conv_dim=16,16,16,16,16,16,16", "pos_conv_kernel=8", "pos_conv_groups=4",
                                    "epochs=3", "batch_seconds=10", "eq_db=3"]),
}


needs_tts = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("flite") is None,
                               reason="espeak-ng and flite are needed (sudo apt-get install -y espeak-ng flite)")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    script = load_script(SCRIPTS / "make_synthetic_corpus.py", "make_synthetic_corpus")
    out = tmp_path_factory.mktemp("trainers") / "corpus"
    script.build(script.Settings(train=24, dev=6, test=6, seed=3), out, workers=2)
    return out


def _train(model: str, corpus: Path, work_dir: Path, out: Path, *extra: str) -> list[float]:
    """Run the script; returns the dev CER it logged after each epoch."""
    overrides = [arg for setting in MODELS[model][1] for arg in ("--set", setting)]
    # the DeepSpeech run writes (replaces) the shipped subset; the Wav2Vec2 run only reads one
    subset = out.parent / f"subset-{out.name}" if model == "deepspeech" else corpus / "test"
    command = [sys.executable, str(SCRIPTS / "train_small_models.py"), "--model", model, "--corpus", str(corpus),
               "--work-dir", str(work_dir), "--out", str(out), "--subset-out", str(subset),
               "--subset-size", "3", "--no-lm", "--set", "threads=1", *overrides, *extra]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return [float(cer) for cer in re.findall(r"epoch \d+/\d+: .* CER ([\d.]+)%", run.stderr)]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@needs_tts
@pytest.mark.parametrize("model", sorted(MODELS))
def test_same_seed_same_weights_and_reuse_exports_the_same_model(model: str, corpus: Path, tmp_path: Path) -> None:
    if model == "wav2vec2":
        pytest.importorskip("transformers")
    name = MODELS[model][0]
    dev_cers = _train(model, corpus, tmp_path / "work-a", tmp_path / "out-a")
    # the second run stops after epoch 1 (exports nothing), then goes on with --resume: the same epochs, the same run
    assert _train(model, corpus, tmp_path / "work-b", tmp_path / "out-b", "--stop-after-epoch", "1") == dev_cers[:1]
    assert not (tmp_path / "out-b").exists()
    assert _train(model, corpus, tmp_path / "work-b", tmp_path / "out-b", "--resume") == dev_cers[1:]
    assert _sha(tmp_path / "work-a" / f"{name}.pt") == _sha(tmp_path / "work-b" / f"{name}.pt")
    assert _sha(tmp_path / "out-a" / "model.bin") == _sha(tmp_path / "out-b" / "model.bin")
    assert "--resume" not in (tmp_path / "out-b" / "MODEL_CARD.md").read_text()

    figures = json.loads((tmp_path / "work-a" / f"{name}.training.json").read_text())
    assert figures["epochs_run"] == len(dev_cers) == 3
    assert figures["best_epoch"] == 1 + dev_cers.index(min(dev_cers))
    card = (tmp_path / "out-a" / "MODEL_CARD.md").read_text()
    assert f"(epoch {figures['best_epoch']})" in card

    _train(model, corpus, tmp_path / "work-a", tmp_path / "out-reused", "--reuse-training")
    assert _sha(tmp_path / "out-reused" / "model.bin") == _sha(tmp_path / "out-a" / "model.bin")


def test_the_epoch_with_the_lowest_dev_cer_is_kept_saved_and_reloaded(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4)
    after: list[dict[str, torch.Tensor]] = []  # the weights after each epoch

    def run_epoch(epoch: int) -> float:
        loss = common.optimizer_step(model, optimizer, model(x).pow(2).mean(), lr=0.1, grad_clip=1.0)
        after.append({k: v.clone() for k, v in model.state_dict().items()})
        return loss

    # dev transcripts of epochs 1-3: the second is right, the third (the last weights) worse again
    transcripts = iter([["the bat"], ["the cat sat"], ["the cat set"]])
    seconds, best = common.keep_best_epoch(model, optimizer, 3, run_epoch, lambda: next(transcripts), ["the cat sat"],
                                           tmp_path, "m.pt", "m.json", settings="tiny")
    assert best == 2 and seconds > 0
    assert all(torch.equal(model.state_dict()[k], after[1][k]) for k in after[1])
    assert not torch.equal(after[1]["weight"], after[2]["weight"])
    assert json.loads((tmp_path / "m.json").read_text()) == {"seconds": seconds, "best_epoch": 2, "epochs_run": 3}

    fresh = torch.nn.Linear(4, 3)
    assert common.load_checkpoint(fresh, tmp_path, "m.pt", "m.json") == (seconds, 2)
    assert all(torch.equal(fresh.state_dict()[k], after[1][k]) for k in after[1]) and not fresh.training


def _noisy_run(work_dir: Path, control: common.RunControl, settings: str = "noisy"
               ) -> tuple[torch.nn.Module, list[float]]:
    """A run whose epochs draw from every generator a training uses: dropout and noise from torch's global
    generator, a shift from numpy's, a scale from a generator of its own; Adam's moments carry over epochs."""
    import numpy as np

    torch.manual_seed(0)
    np.random.seed(0)
    generator = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses: list[float] = []
    epochs: list[int] = []
    dev = ["the bat", "the cat", "the cat set", "the cat sat"]  # epoch 3 is the best until epoch 4

    def run_epoch(epoch: int) -> float:
        x = torch.randn(8, 4) * torch.rand(1, generator=generator) + float(np.random.normal())
        losses.append(common.optimizer_step(model, optimizer, model(x).pow(2).mean(), lr=0.05 / epoch, grad_clip=1.0))
        epochs.append(epoch)
        return losses[-1]

    work_dir.mkdir(exist_ok=True)
    common.keep_best_epoch(model, optimizer, 4, run_epoch, lambda: [dev[epochs[-1] - 1]], ["the cat sat"], work_dir,
                           "m.pt", "m.json", settings, control, [generator])
    return model, losses


def test_a_run_stopped_and_resumed_trains_what_one_run_does(tmp_path: Path) -> None:
    whole, whole_losses = _noisy_run(tmp_path / "a", common.RunControl())
    assert len(set(whole_losses)) == 4
    with pytest.raises(common.StoppedEarly, match="stopped after epoch 3/4 .*--resume"):
        _noisy_run(tmp_path / "b", common.RunControl(stop_after=3))
    assert json.loads((tmp_path / "b" / "m.json").read_text()).keys() == {"seconds", "best_epoch"}  # not finished
    resumed, resumed_losses = _noisy_run(tmp_path / "b", common.RunControl(resume=True))
    assert resumed_losses == whole_losses[3:]  # only epoch 4 ran, as it did in the whole run
    assert all(torch.equal(resumed.state_dict()[k], whole.state_dict()[k]) for k in whole.state_dict())
    assert json.loads((tmp_path / "b" / "m.json").read_text())["best_epoch"] == 4
    # without --resume a run starts again from scratch, whatever the folder holds
    again, again_losses = _noisy_run(tmp_path / "b", common.RunControl())
    assert again_losses == whole_losses
    # a state saved under other settings is refused, naming the file
    with pytest.raises(SystemExit, match=r"m\.state\.pt was saved by a run with other settings"):
        _noisy_run(tmp_path / "b", common.RunControl(resume=True), settings="other")


@pytest.mark.parametrize(("corner", "gain_db"), [(28, -20.0), (33, 12.0), (38, -25.0)])
def test_high_shelf_on_the_features_equals_filtering_the_audio(corner: int, gain_db: float) -> None:
    """The training's high-shelf augmentation works on the log-mel bands under DeepSpeech's cepstra; it must do what
    filtering the waveform with the same gain curve does to the MFCC (the curve: the logistic step over the mel
    band index, placed at the bands' centre frequencies)."""
    import numpy as np

    from speechq.constants import DEEPSPEECH_MEL_CHANNELS, DEEPSPEECH_MEL_HIGH_HZ, DEEPSPEECH_MEL_LOW_HZ
    from speechq.data import read_audio
    from speechq.features import deepspeech_mfcc
    from speechq_testing import SHIPPED_UTTERANCES

    audio = read_audio(sorted(SHIPPED_UTTERANCES.glob("*/*/*.flac"))[0])
    mel = lambda hz: 1127.0 * np.log1p(np.asarray(hz) / 700.0)  # noqa: E731  (TensorFlow's mel scale)
    spacing = (mel(DEEPSPEECH_MEL_HIGH_HZ) - mel(DEEPSPEECH_MEL_LOW_HZ)) / (DEEPSPEECH_MEL_CHANNELS + 1)
    hz = np.fft.rfftfreq(len(audio), 1 / 16000)
    band = (mel(hz) - mel(DEEPSPEECH_MEL_LOW_HZ)) / spacing - 1.0  # fractional band index: band k peaks at k
    curve_db = gain_db / (1.0 + np.exp(-(band - corner)))
    filtered = np.fft.irfft(np.fft.rfft(audio) * 10 ** (curve_db / 20), len(audio)).astype(np.float32)

    before = torch.from_numpy(deepspeech_mfcc(audio))
    real = torch.from_numpy(deepspeech_mfcc(filtered)) - before
    shelf = ds.high_shelf(before @ ds.INVERSE_DCT, torch.tensor(float(corner)), torch.tensor(gain_db))
    augmented = shelf @ ds.DCT - before
    assert real.mean(0).abs().max() > 0.5  # the filter moves the cepstra
    assert float((augmented.mean(0) - real.mean(0)).norm() / real.mean(0).norm()) < 0.03
    assert float((augmented - real).abs().max()) < 0.25 * float(real.abs().max())


def test_the_wav2vec2_equaliser_gives_its_gain_at_each_point_and_between() -> None:
    """Tones at the equaliser's points come out scaled by their gains (8 kHz is Nyquist: a cosine there); a tone
    midway (in log frequency) between two points by the mean of their gains in dB; below the first point, flat. The
    length is prime, so the FFT runs on zero-padded audio: judged away from the ends."""
    import numpy as np

    import _train_wav2vec2 as w2v

    gains = np.array([-9.0, 4.0, 0.0, 11.0, -6.0, 7.5, -12.0])
    points = np.array(w2v.EQ_POINTS_HZ)
    tests = [(60.0, gains[0])] + [(hz, g) for hz, g in zip(points, gains)] + [
        (float(np.sqrt(a * b)), (ga + gb) / 2) for a, b, ga, gb in zip(points, points[1:], gains, gains[1:])]
    n = 32_009  # a prime
    t = np.arange(n) / w2v.SAMPLE_RATE_HZ
    middle = slice(n // 4, 3 * n // 4)
    for hz, gain_db in tests:
        tone = np.cos(2 * np.pi * hz * t).astype(np.float32)
        out = w2v.equalised(tone, gains)
        assert out.dtype == np.float32 and out.shape == tone.shape
        measured_db = 20 * np.log10(np.abs(out[middle]).max() / np.abs(tone[middle]).max())
        assert measured_db == pytest.approx(gain_db, abs=0.1), hz


def test_the_wav2vec2_equaliser_draws_leave_the_speeds_and_batches_as_without_it() -> None:
    """Adding the equaliser to a run changes nothing else the run draws (its gains come from a generator of their
    own), and its gains span +-eq_db per utterance and epoch."""
    import dataclasses

    import numpy as np

    import _train_wav2vec2 as w2v

    lengths = list(np.random.default_rng(5).integers(16_000, 160_000, 300))
    plain = w2v.Wav2Vec2TrainConfig(epochs=3, batch_seconds=20.0)
    without = w2v.plan_epochs(lengths, plain)
    with_eq = w2v.plan_epochs(lengths, dataclasses.replace(plain, eq_db=6.0))
    for a, b in zip(without, with_eq):
        assert a.speeds == b.speeds and a.batches == b.batches and a.eq_gains_db is None
        assert b.eq_gains_db is not None and b.eq_gains_db.shape == (len(lengths), len(w2v.EQ_POINTS_HZ))
        assert np.abs(b.eq_gains_db).max() <= 6.0 and b.eq_gains_db.min() < -5.0 and b.eq_gains_db.max() > 5.0
    assert not np.array_equal(with_eq[0].eq_gains_db, with_eq[1].eq_gains_db)
