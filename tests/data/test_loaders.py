"""LibriSpeechDataLoader and AudioFolderDataLoader: layouts give the same items, metadata, cache, indices."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from _data_helpers import WriteAudio, make_tone

from speechq.api import BatchSampler, SpeechAnnotation
from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader, PreparedCorpus, read_manifest
from speechq.errors import ConfigError
from speechq.features import DeepSpeechFeatures, Wav2Vec2Features

MINI_IDS = ["1089-134691-0000", "2033-164915-0001", "2412-153948-0000", "84-121550-0000"]


def _items(loader: LibriSpeechDataLoader) -> list[tuple]:
    return [loader[i] for i in range(len(loader))]


def _assert_same_items(a: LibriSpeechDataLoader, b: LibriSpeechDataLoader) -> None:
    assert len(a) == len(b)
    for (data_a, ann_a, meta_a), (data_b, ann_b, meta_b) in zip(_items(a), _items(b)):
        assert ann_a == ann_b
        np.testing.assert_array_equal(data_a, data_b)
        for key in ("utterance_id", "num_samples", "num_steps", "sample_rate_hz", "duration_s"):
            assert meta_a[key] == meta_b[key]


def test_native_layout(librispeech_mini: Path) -> None:
    loader = LibriSpeechDataLoader(librispeech_mini, features=DeepSpeechFeatures())
    assert [u.utterance_id for u in loader.utterances] == MINI_IDS
    data, annotation, metadata = loader[0]
    assert annotation == SpeechAnnotation("1089-134691-0000", "HE COULD WAIT NO LONGER")
    assert data.shape == (math.ceil(metadata["num_samples"] / 320), 19, 26) and data.dtype == np.float32
    assert metadata["num_samples"] == 33_360 and metadata["num_steps"] == data.shape[0]
    assert metadata["sample_rate_hz"] == 16_000 and metadata["duration_s"] == pytest.approx(2.085)
    assert metadata["path"].endswith("1089-134691-0000.flac")
    assert loader[-1][1].utterance_id == MINI_IDS[-1]


def test_one_split(librispeech_mini: Path) -> None:
    loader = LibriSpeechDataLoader(librispeech_mini / "dev-clean")
    assert [u.utterance_id for u in loader.utterances] == ["2412-153948-0000", "84-121550-0000"]
    audio, _, metadata = loader[1]
    assert audio.shape == (metadata["num_samples"],) == (metadata["num_steps"],)


def test_flat_layout_and_manifests_give_the_same_items(librispeech_mini: Path, flat_mini: PreparedCorpus) -> None:
    features = DeepSpeechFeatures()
    native = LibriSpeechDataLoader(librispeech_mini, features=features)
    flat = LibriSpeechDataLoader(flat_mini.audio_dir, features=features, label_dir=flat_mini.label_dir)
    tsv, jsonl = flat_mini.manifests
    _assert_same_items(native, flat)
    _assert_same_items(native, LibriSpeechDataLoader(tsv, features=features))
    _assert_same_items(native, LibriSpeechDataLoader(jsonl, features=features))


def test_manifest_paths_relative_to_the_manifest(librispeech_mini: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "lists"
    elsewhere.mkdir()
    audio = next(librispeech_mini.rglob("1089-134691-0000.flac"))
    relative = os.path.relpath(audio.resolve(), elsewhere.resolve())
    assert relative.startswith("..")
    (elsewhere / "a.tsv").write_text(f"{relative}\tHE COULD WAIT NO LONGER\t2.085\n", encoding="utf-8")
    (elsewhere / "a.jsonl").write_text(json.dumps({"path": str(audio), "text": "HE COULD WAIT NO LONGER",
                                                   "id": "custom-id"}) + "\n", encoding="utf-8")
    assert LibriSpeechDataLoader(elsewhere / "a.tsv")[0][1] == SpeechAnnotation("1089-134691-0000", "HE COULD WAIT NO LONGER")
    assert LibriSpeechDataLoader(elsewhere / "a.jsonl")[0][1].utterance_id == "custom-id"


def test_input_name_and_wav2vec2(librispeech_mini: Path) -> None:
    loader = LibriSpeechDataLoader(librispeech_mini, features=Wav2Vec2Features(), input_name="input_values")
    data, _, metadata = loader[2]
    assert list(data) == ["input_values"]
    assert data["input_values"].shape == (1, metadata["num_samples"]) and metadata["num_steps"] == metadata["num_samples"]


def test_index_errors_and_iteration(librispeech_mini: Path) -> None:
    loader = LibriSpeechDataLoader(librispeech_mini)
    for bad in (4, -5, 100):
        with pytest.raises(IndexError):
            loader[bad]
    with pytest.raises(TypeError):
        loader["0"]  # type: ignore[index]
    assert [item[1].utterance_id for item in loader] == MINI_IDS
    batches = list(BatchSampler(loader, batch_size=3))
    assert [len(b) for b in batches] == [3, 1] and batches[1][0].metadata["utterance_id"] == MINI_IDS[3]


def test_features_computed_once_and_items_are_copies(librispeech_mini: Path) -> None:
    calls: list[int] = []

    def features(audio: np.ndarray) -> np.ndarray:
        calls.append(len(audio))
        return DeepSpeechFeatures()(audio)

    loader = LibriSpeechDataLoader(librispeech_mini, features=features)
    first = loader[0][0]
    first[:] = 0
    again = loader[0][0]
    assert len(calls) == 1 and loader.cache.hits == 1
    assert np.any(again != 0)  # the cache holds its own array


def test_cache_bound_in_bytes(librispeech_mini: Path) -> None:
    sizes = [LibriSpeechDataLoader(librispeech_mini, features=DeepSpeechFeatures(), cache_bytes=0)[i][0].nbytes
             for i in range(4)]
    bound = sizes[0] + sizes[1] + 10
    loader = LibriSpeechDataLoader(librispeech_mini, features=DeepSpeechFeatures(), cache_bytes=bound)
    for index in range(4):
        loader[index]
        assert loader.cache.bytes_used <= bound
    assert MINI_IDS[3] in loader.cache and MINI_IDS[0] not in loader.cache  # least recently used went first
    assert len(LibriSpeechDataLoader(librispeech_mini, cache_bytes=0).cache) == 0
    with pytest.raises(ConfigError, match="cache_bytes"):
        LibriSpeechDataLoader(librispeech_mini, cache_bytes=-1)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"features": "mfcc"}, "features must be a callable"),
        ({"input_name": ""}, "input_name"),
        ({"sample_rate_hz": 0}, "sample_rate_hz"),
        ({"features": DeepSpeechFeatures(), "sample_rate_hz": 8_000}, "expect 16000 Hz audio"),
        ({"skip_bad": "yes"}, "skip_bad"),
        ({"alphabet": "abc"}, "alphabet"),
        ({"alphabet": ["ab"]}, "alphabet"),
    ],
)
def test_bad_options(librispeech_mini: Path, options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LibriSpeechDataLoader(librispeech_mini, **options)


def test_other_model_rate(librispeech_mini: Path) -> None:
    loader = LibriSpeechDataLoader(librispeech_mini, sample_rate_hz=8_000)
    audio, _, metadata = loader[0]
    assert metadata["num_samples"] == len(audio) == 33_360 // 2 and metadata["sample_rate_hz"] == 8_000


def test_manifest_listing_does_not_read_audio(flat_mini: PreparedCorpus) -> None:
    utterances, problems = read_manifest(flat_mini.manifests[1])
    assert not problems and [u.utterance_id for u in sorted(utterances, key=lambda u: u.utterance_id)] == MINI_IDS


# -------------------------------------------------------------------------------------------- audio folder
def test_audio_folder_recursive_unlabelled(write_audio: WriteAudio, tmp_path: Path) -> None:
    write_audio("calib/b.wav", make_tone(0.5, 16_000))
    write_audio("calib/sub/a.flac", make_tone(0.3, 8_000), 8_000)
    write_audio("calib/sub/deeper/c.ogg", make_tone(0.2, 16_000), subtype="VORBIS")
    (tmp_path / "calib" / "notes.txt").write_text("not audio")
    loader = AudioFolderDataLoader(tmp_path / "calib", features=DeepSpeechFeatures())
    assert [u.utterance_id for u in loader.utterances] == ["b", "sub/a", "sub/deeper/c"]
    data, annotation, metadata = loader[1]
    assert annotation == SpeechAnnotation("sub/a", None)
    assert metadata["num_samples"] == 4_800 and data.shape == (15, 19, 26)
    flat = AudioFolderDataLoader(tmp_path / "calib", recursive=False)
    assert [u.utterance_id for u in flat.utterances] == ["b"]
    only_wav = AudioFolderDataLoader(tmp_path / "calib", extensions=[".wav"])
    assert len(only_wav) == 1
