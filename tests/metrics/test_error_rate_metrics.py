"""WordErrorRate / CharErrorRate / TokenErrorRate as POT metrics: texts or raw outputs in, per-sample and corpus out."""

from __future__ import annotations

import math

import jiwer
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from speechq.api import MetricGroup, SpeechAnnotation
from speechq.api.metric import metric_directions
from speechq.decoding import GreedyCTCDecoder, Vocabulary
from speechq.errors import ConfigError, DataError
from speechq.metrics import CharErrorRate, TokenErrorRate, WordErrorRate, word_error_rate

SENTENCES = st.lists(st.sampled_from(["a", "b", "cat", "the"]), max_size=6).map(" ".join)


def onehot_logits(vocab: Vocabulary, texts: list[str]) -> np.ndarray:
    """``[B, T, V]`` one-hot scores spelling each text (token, blank, ...), blank-padded."""
    paths = [[i for t in vocab.text_to_ids(text) for i in (t, vocab.blank_index)] for text in texts]
    frames = max(1, max(len(p) for p in paths))
    logits = np.zeros((len(texts), frames, vocab.size), np.float32)
    logits[:, :, vocab.blank_index] = 1.0
    for b, path in enumerate(paths):
        logits[b, np.arange(len(path)), :] = 0.0
        logits[b, np.arange(len(path)), path] = 1.0
    return logits


def test_texts_and_annotations():
    metric = WordErrorRate()
    metric.update(["he could wait", "no longer"], [SpeechAnnotation("u1", "HE COULD WAIT"), "NO LONGER NOW"])
    assert metric.value == {"wer": [0.0, pytest.approx(1 / 3)]}
    assert metric.avg_value == {"wer": pytest.approx(1 / 6)}
    assert metric.get_attributes() == {"wer": {"direction": "higher-worse", "type": "word error rate"}}
    assert metric.higher_better is False and metric_directions(metric) == {"wer": False}


@given(st.lists(st.lists(st.tuples(SENTENCES, SENTENCES), min_size=1, max_size=4), min_size=1, max_size=4))
def test_batches_accumulate_to_jiwer_on_the_whole_corpus(batches):
    metric = WordErrorRate()
    for batch in batches:
        metric.update([h for _, h in batch], [r for r, _ in batch])
        assert metric.value["wer"] == pytest.approx([jiwer.wer(r, h) for r, h in batch])
    refs = [r for batch in batches for r, _ in batch]
    hyps = [h for batch in batches for _, h in batch]
    assert metric.avg_value["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert metric.result == word_error_rate(refs, hyps)
    assert metric.utterance_mean == pytest.approx(np.mean([jiwer.wer(r, h) for r, h in zip(refs, hyps)]))


def test_corpus_value_is_not_the_mean_of_per_sample_values():
    metric = WordErrorRate()
    metric.update(["yellow"], ["hello"])
    metric.update(["one two three four five six seven eight nine"], ["one two three four five six seven eight nine"])
    assert metric.avg_value["wer"] == pytest.approx(0.1)
    assert metric.utterance_mean == pytest.approx(0.5)


def test_raw_outputs_are_decoded_with_the_vocabulary_or_decoder():
    vocab = Vocabulary.deepspeech()
    logits = onehot_logits(vocab, ["the cat", "a dog"])
    by_vocabulary = WordErrorRate(vocabulary=vocab)
    by_vocabulary.update([logits], ["the cat", "a dog"])  # what an engine passes without a decoder
    assert by_vocabulary.value == {"wer": [0.0, 0.0]}
    by_decoder = CharErrorRate(decoder=GreedyCTCDecoder(vocab, "TBV"))
    by_decoder.update({"logits": logits.transpose(1, 0, 2)}, ["the cat", "a dot"])
    assert by_decoder.value == {"cer": [0.0, 0.2]}


def test_token_error_rate_over_a_phoneme_vocabulary():
    vocab = Vocabulary.from_tokens(["<b>", "HH", "AH0", "L", "OW1"], blank_index=0)
    metric = TokenErrorRate(vocabulary=vocab)
    metric.update([onehot_logits(vocab, ["HH AH0 L OW1"])], ["HH AH0 L L OW1"])
    assert metric.value == {"ter": [0.2]} and metric.result.deletions == 1


def test_metric_group_reset_and_names():
    group = MetricGroup(WordErrorRate(), CharErrorRate(), WordErrorRate(normalize=None, name="wer_raw"))
    group.update(["Hello"], ["hello"])
    assert group.avg_value == {"wer": 0.0, "cer": 0.0, "wer_raw": 1.0}
    group.reset()
    assert all(math.isnan(v) for v in group.avg_value.values())


def test_refusals_name_the_problem():
    metric = WordErrorRate()
    with pytest.raises(DataError, match="utterance 'u7' has no reference text"):
        metric.update(["a"], [SpeechAnnotation("u7", None)])
    with pytest.raises(DataError, match="1 hypotheses for 2 references"):
        metric.update(["a"], ["a", "b"])
    with pytest.raises(DataError, match="annotation 0 .* got NoneType .*missing reference"):
        metric.update(["a"], [None])
    with pytest.raises(DataError, match="one string"):
        metric.update("a", ["a"])
    with pytest.raises(DataError, match="only texts .* or only model outputs"):
        metric.update(["a", np.zeros(3)], ["a", "b"])
    with pytest.raises(ConfigError, match="no decoder"):
        metric.update([np.zeros((1, 4, 29))], ["a"])
    with pytest.raises(ConfigError, match="not both"):
        WordErrorRate(decoder=GreedyCTCDecoder(Vocabulary.deepspeech()), vocabulary=Vocabulary.deepspeech())
    assert math.isnan(metric.avg_value["wer"]) and metric.value == {"wer": []}
