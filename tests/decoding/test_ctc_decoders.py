"""Decoders as engine post-processing hooks: layouts, output choice, metadata lengths, errors."""

from __future__ import annotations

import numpy as np
import pytest
from ctc_helpers import path_logits, spell

from speechq.decoding import (
    BeamSearchCTCDecoder,
    BeamSearchParams,
    CTCDecoder,
    GreedyCTCDecoder,
    Vocabulary,
    build_beam_decoder,
    greedy_decode,
)
from speechq.errors import ConfigError, DataError, ModelError

TEXTS = ["the cat", "sat on a mat", ""]


@pytest.fixture(scope="module")
def batch(deepspeech: Vocabulary) -> tuple[np.ndarray, list[int]]:
    """``[3, T, 29]`` log-probabilities of TEXTS, blank-padded to the longest, and each item's frame count."""
    paths = [spell(deepspeech, t) for t in TEXTS]
    frames = max(len(p) for p in paths)
    padded = [p + [deepspeech.blank_index] * (frames - len(p)) for p in paths]
    return np.stack([path_logits(p, deepspeech.size) for p in padded]), [len(p) for p in paths]


@pytest.mark.parametrize("make", [GreedyCTCDecoder, BeamSearchCTCDecoder])
def test_layouts_give_one_text_per_item(make, deepspeech, batch):
    logits, lengths = batch
    metadata = [{"valid_length": n} for n in lengths]
    assert make(deepspeech, "BTV")({"logits": logits}, metadata) == TEXTS
    assert make(deepspeech, "TBV")({"logits": logits.transpose(1, 0, 2)}, metadata) == TEXTS
    assert make(deepspeech, "TV")({"logits": logits[1]}, {"valid_length": lengths[1]}) == [TEXTS[1]]
    assert make(deepspeech, "BTV")([logits], None) == TEXTS  # padding is blank: lengths change nothing here
    assert isinstance(make(deepspeech), CTCDecoder)


def test_deepspeech_time_major_single_utterance(deepspeech):
    logits = path_logits(spell(deepspeech, "hello world"), 29)[:, np.newaxis]  # [T, 1, 29]
    assert GreedyCTCDecoder(deepspeech, "TBV")({"logits": logits}, [{}]) == ["hello world"]


def test_valid_length_drops_frames_past_it(deepspeech):
    path = spell(deepspeech, "ab")
    logits = path_logits(path, 29)[np.newaxis]
    decoder = GreedyCTCDecoder(deepspeech)
    assert decoder(logits, [{"valid_length": 3}]) == ["a"]
    assert decoder(logits, {"valid_length": np.int64(3)}) == ["a"]
    two = np.concatenate([logits, logits])
    assert decoder(two, {"valid_length": [3, len(path)]}) == ["a", "ab"]


def test_logits_output_is_found_named_or_by_index(deepspeech, batch):
    logits, _ = batch
    state = np.zeros((1, 2048), np.float32)
    outputs = {"new_state_c": state, "logits": logits, "new_state_h": state}
    assert GreedyCTCDecoder(deepspeech)(outputs) == TEXTS
    assert GreedyCTCDecoder(deepspeech, logits_output="logits")(outputs) == TEXTS
    assert GreedyCTCDecoder(deepspeech, logits_output=1)([state, logits]) == TEXTS
    with pytest.raises(ModelError, match="'probs' is not a model output.*'logits'"):
        GreedyCTCDecoder(deepspeech, logits_output="probs")(outputs)
    with pytest.raises(ModelError, match="no model output looks like CTC logits.*29 symbols"):
        GreedyCTCDecoder(deepspeech)({"logits": logits[..., :28]})
    with pytest.raises(ModelError, match="'state'.*2048 symbols"):
        GreedyCTCDecoder(deepspeech, logits_output="state")({"state": np.zeros((1, 3, 2048))})


def test_bad_layouts_and_metadata(deepspeech, batch):
    logits, _ = batch
    with pytest.raises(ConfigError, match="layout"):
        GreedyCTCDecoder(deepspeech, "VTB")
    with pytest.raises(DataError, match="layout 'TBV' needs a 3-D output"):
        GreedyCTCDecoder(deepspeech, "TBV", logits_output="x")({"x": logits[0]})
    with pytest.raises(DataError, match="2 entries for a batch of 3"):
        GreedyCTCDecoder(deepspeech)(logits, [{}, {}])
    with pytest.raises(DataError, match="valid_length 99 is outside"):
        GreedyCTCDecoder(deepspeech)(logits, [{"valid_length": 99}, {}, {}])


def test_beam_decoder_from_a_built_search(deepspeech, batch):
    logits, lengths = batch
    search = build_beam_decoder(deepspeech, params=BeamSearchParams(beam_width=4))
    decoder = BeamSearchCTCDecoder.from_search(search, "BTV", num_workers=2)
    assert decoder(logits, [{"valid_length": n} for n in lengths]) == [greedy_decode(x, deepspeech) for x in logits]


@pytest.mark.parametrize("make", [GreedyCTCDecoder, BeamSearchCTCDecoder])
def test_a_lengths_output_bounds_decoding(make, deepspeech, batch):
    """A model's own output lengths cut each item (here: garbage frames after each text), the smaller of them and
    the metadata's ``valid_length`` wins, and bad lengths are named."""
    logits, lengths = batch
    noisy = logits.copy()
    rng = np.random.default_rng(0)
    for item, n in enumerate(lengths):
        noisy[item, n:] = rng.normal(size=noisy[item, n:].shape) * 10  # not blank: would decode to letters
    outputs = {"logits": noisy, "lengths": np.array(lengths, np.int64)}
    decoder = make(deepspeech, "BTV", lengths_output="lengths")
    assert decoder(outputs, None) == TEXTS
    assert decoder({**outputs, "lengths": np.array(lengths) + 1000}, [{"valid_length": n} for n in lengths]) == TEXTS
    with pytest.raises(ModelError, match=r"lengths_output 'lengths' is not a model output; outputs are \['logits'\]"):
        decoder({"logits": noisy}, None)
    with pytest.raises(DataError, match=r"model output 'lengths' must hold 3 non-negative integer frame counts"):
        decoder({**outputs, "lengths": np.array([1.5, 2.0, 3.0])}, None)
