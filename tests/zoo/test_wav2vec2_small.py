"""The shipped Wav2Vec2ForCTC-architecture model: Hugging Face's interface and vocabulary, a dynamic input length,
real accuracy on shipped utterances, and the windowed engine agreeing with whole-utterance inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

import speechq as sq
from speechq.data import Utterance, find_utterances, read_audio
from speechq.decoding import Vocabulary, beam_decode_many, find_language_model, greedy_decode
from speechq.metrics import char_error_rate, word_error_rate
from speechq.workflows import transcribe
from speechq.zoo import get_recipe

SPEC = get_recipe("wav2vec2")
ZOO = Path(__file__).resolve().parents[2] / "speechq" / "zoo"
FOLDER = ZOO / "wav2vec2_small"
MODEL_XML = FOLDER / "model.xml"
SUBSET = ZOO / "data" / "synthetic-test"
HOP_SAMPLES = 320  # 20 ms frames: strides 5 * 2^6
# Measured on the 58 shipped utterances (FP32, greedy, whole utterances): CER 9.82% (MODEL_CARD.md; the previous
# model, trained for 24 epochs instead of 36, 12.67%). The bound leaves room for CPU-dependent rounding, not for a
# worse model.
GREEDY_CER_BOUND = 0.11
BEAM_LM_WER_BOUND = 0.13  # measured 12.00% with beam search (width 32) and its language model (greedy: 35.71%)
HF_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M",
             "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z"]  # facebook/wav2vec2-base-960h

pytestmark = pytest.mark.skipif(not MODEL_XML.exists(), reason="the shipped Wav2Vec2 model is not built")


@pytest.fixture(scope="module")
def model() -> ov.Model:
    return ov.Core().read_model(MODEL_XML)


@pytest.fixture(scope="module")
def compiled(model: ov.Model) -> ov.CompiledModel:
    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})


@pytest.fixture(scope="module")
def shipped_utterances() -> list[Utterance]:
    return find_utterances(SUBSET)


def _logits(compiled: ov.CompiledModel, audio: np.ndarray) -> np.ndarray:
    """Logits [T, 32] of one whole utterance."""
    return compiled({"input_values": sq.wav2vec2_input(audio)})["logits"][0]


def test_interface_is_hugging_faces(model: ov.Model) -> None:
    [audio], [logits] = model.inputs, model.outputs
    assert audio.get_names() == {"input_values"} and logits.get_names() == {"logits"}
    assert audio.get_partial_shape().compatible(ov.PartialShape([1, -1])) and audio.get_partial_shape()[1].is_dynamic
    shape = logits.get_partial_shape()
    assert shape.rank.get_length() == 3 and shape[0] == 1 and shape[1].is_dynamic and shape[2] == len(HF_TOKENS)
    assert audio.get_element_type() == ov.Type.f32 and logits.get_element_type() == ov.Type.f32


def test_vocab_json_is_hugging_faces_and_sizes_the_logits(model: ov.Model) -> None:
    raw = json.loads((FOLDER / "vocab.json").read_text())
    assert sorted(raw.items(), key=lambda item: item[1]) == [(t, i) for i, t in enumerate(HF_TOKENS)]
    vocabulary = SPEC.vocabulary(None)
    assert vocabulary == Vocabulary.from_hf_vocab_json(FOLDER / "vocab.json")
    assert vocabulary.blank_index == 0 and vocabulary.word_delimiter == "|"
    assert len(vocabulary) == model.outputs[0].get_partial_shape()[2].get_length()
    SPEC.check_model(model, str(MODEL_XML))


def test_config_json_is_a_wav2vec2_for_ctc_with_20_ms_frames() -> None:
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["architectures"] == ["Wav2Vec2ForCTC"] and config["model_type"] == "wav2vec2"
    assert config["vocab_size"] == len(HF_TOKENS) and config["pad_token_id"] == 0
    assert int(np.prod(config["conv_stride"])) == HOP_SAMPLES


def test_weights_fit_the_size_budget() -> None:
    assert MODEL_XML.with_suffix(".bin").stat().st_size <= 3_500_000


@pytest.mark.parametrize("seconds", [0.5, 1.0, 3.7])
def test_any_length_runs_with_one_frame_per_20_ms(compiled: ov.CompiledModel, seconds: float) -> None:
    samples = round(seconds * 16_000)
    audio = np.random.default_rng(0).normal(scale=0.1, size=samples).astype(np.float32)
    frames = _logits(compiled, audio).shape[0]
    assert abs(frames - samples / HOP_SAMPLES) <= 1


@pytest.fixture(scope="module")
def shipped_logits(compiled: ov.CompiledModel, shipped_utterances: list[Utterance]) -> list[np.ndarray]:
    return [_logits(compiled, read_audio(u.audio_path)) for u in shipped_utterances]


def test_greedy_cer_on_shipped_utterances(shipped_logits: list[np.ndarray], shipped_utterances: list[Utterance]) -> None:
    vocabulary = SPEC.vocabulary(None)
    hypotheses = [greedy_decode(logits, vocabulary) for logits in shipped_logits]
    references = [u.text or "" for u in shipped_utterances]
    assert char_error_rate(references, hypotheses).corpus_rate < GREEDY_CER_BOUND


def test_its_language_model_lowers_the_word_error_rate(shipped_logits: list[np.ndarray],
                                                      shipped_utterances: list[Utterance]) -> None:
    """The language_model/ folder beside the model: the 3-gram LM of the training text, in lower case (beam search
    gives pyctcdecode the vocabulary's capitals in the LM's case) with the weights tuned on dev."""
    vocabulary = SPEC.vocabulary(None)
    own = find_language_model(MODEL_XML)
    assert own is not None and (own.alpha, own.beta) == (0.3, 3.0)
    with_lm = beam_decode_many(own.beam_search(vocabulary, beam_width=32), shipped_logits)
    greedy = [greedy_decode(logits, vocabulary) for logits in shipped_logits]
    references = [u.text or "" for u in shipped_utterances]
    assert word_error_rate(references, with_lm).corpus_rate < BEAM_LM_WER_BOUND < word_error_rate(references, greedy).corpus_rate


def test_both_shipped_models_fit_the_10_mb_budget() -> None:
    files = [p for name in ("deepspeech_small", "wav2vec2_small") for p in (ZOO / name).rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 10_000_000


def _windowed_texts(utterances: list[Utterance], tmp_path: Path, **window: int) -> list[str]:
    """Texts of the windowed engine (the recipe's) on ``utterances`` (in their order), copied to a LibriSpeech-layout
    folder."""
    for u in utterances:
        speaker, chapter, _ = u.utterance_id.split("-")
        folder = tmp_path / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        (folder / u.audio_path.name).write_bytes(u.audio_path.read_bytes())
        with (folder / f"{speaker}-{chapter}.trans.txt").open("a") as f:
            f.write(f"{u.utterance_id} {u.text}\n")
    loader = sq.LibriSpeechDataLoader(tmp_path, features=sq.Wav2Vec2Features())
    decoder = sq.GreedyCTCDecoder(SPEC.vocabulary(None), layout="BTV")
    engine = sq.WindowedEngine({"device": "CPU", "inference_precision": "f32"}, loader, None, postprocess=decoder,
                               **window)
    texts = dict(transcribe(engine, sq.load_model(MODEL_XML), loader))
    return [texts[u.utterance_id] for u in utterances]


def test_windowed_engine_equals_whole_utterance_inference(compiled: ov.CompiledModel,
                                                          shipped_utterances: list[Utterance], tmp_path: Path) -> None:
    short = shipped_utterances[:2]
    whole = [greedy_decode(_logits(compiled, read_audio(u.audio_path)), SPEC.vocabulary(None)) for u in short]
    assert _windowed_texts(short, tmp_path) == whole


def test_windows_with_context_keep_the_transcripts_of_long_utterances(compiled: ov.CompiledModel,
                                                                      shipped_utterances: list[Utterance],
                                                                      tmp_path: Path) -> None:
    """Windows shorter than the utterances (the eight longest, over 2.4 s each): 2.4 s windows with 0.8 s of context each
    side read nearly what whole-utterance inference reads (measured: 3.3% of characters differ), and clearly closer
    than 1.6 s windows without context (14.3%), whose edges cut words (and lose the edge frame the convolutional
    encoder does not produce)."""
    longest = sorted(shipped_utterances, key=lambda u: len(read_audio(u.audio_path)))[-8:]
    assert all(len(read_audio(u.audio_path)) > 2.4 * 16_000 for u in longest)  # longer than a window
    whole = [greedy_decode(_logits(compiled, read_audio(u.audio_path)), SPEC.vocabulary(None)) for u in longest]
    with_context = _windowed_texts(longest, tmp_path / "context", window_samples=38_400, context_samples=12_800)
    without = _windowed_texts(longest, tmp_path / "none", window_samples=25_600, context_samples=0)
    assert char_error_rate(whole, with_context).corpus_rate < 0.05
    assert char_error_rate(whole, without).corpus_rate > 2 * char_error_rate(whole, with_context).corpus_rate
