"""The evaluation table: several models on the same utterances are compared with the first, with intervals."""

from __future__ import annotations

import pytest

from speechq.errors import DataError
from speechq.metrics import char_error_rate, rate_change, word_error_rate
from speechq.report import evaluations_markdown, to_json
from speechq.workflows import Evaluation, by_speaker, rate_changes

REFERENCES = ["the cat sat on the mat", "a dog ran", "she sells sea shells"] * 20


def _evaluation(label: str, hypotheses: list[str], ids: tuple[str, ...] = ()) -> Evaluation:
    wer, cer = word_error_rate(REFERENCES[: len(hypotheses)], hypotheses), char_error_rate(
        REFERENCES[: len(hypotheses)], hypotheses)
    return Evaluation(label, {"wer": wer.corpus_rate, "cer": cer.corpus_rate}, len(hypotheses), 60.0, 1.0, "greedy",
                      {"wer": wer, "cer": cer}, ids)


def test_models_on_the_same_utterances_are_compared_with_the_first():
    fp32 = _evaluation("FP32", REFERENCES[:30] + ["the cat sat on a mat"] * 30)
    int8 = _evaluation("INT8", ["the cat sad on the mat"] * 30 + ["the cat sat on a mat"] * 30)
    other_set = _evaluation("other data", REFERENCES[:10])
    text = evaluations_markdown([fp32, int8, other_set])
    changes = rate_changes(fp32, int8)
    assert changes["wer"] == rate_change(fp32.error_counts["wer"], int8.error_counts["wer"])
    assert changes["wer"].change > 0 and changes["wer"].significant  # 30 more errors in 60 utterances
    lines = text.splitlines()
    start = lines.index("Against FP32, on the same utterances:")
    assert lines[start + 1:] == [f"- INT8: WER {changes['wer'].describe()}", f"- INT8: CER {changes['cer'].describe()}"]
    assert "| other data |" in text  # in the table, not compared: other utterances


def test_one_model_has_no_comparison():
    assert "Against" not in evaluations_markdown([_evaluation("FP32", REFERENCES[:5])])


def test_same_count_of_other_utterances_is_not_compared():
    fp32 = _evaluation("FP32", REFERENCES[:4], ("1-1-0", "1-1-1", "2-1-0", "2-1-1"))
    other = _evaluation("INT8", REFERENCES[:4], ("1-1-0", "1-1-1", "3-1-0", "3-1-1"))
    assert "Against" not in evaluations_markdown([fp32, other])
    with pytest.raises(DataError, match="FP32 and INT8 were scored on different utterances .'2-1-0' against '3-1-0'"):
        rate_changes(fp32, other)


def test_by_speaker_splits_the_corpus_rates():
    ids = ("10-1-0000", "10-1-0001", "10-1-0002", "9-4-0000", "9-4-0001", "calls/x")
    hypotheses = ["the cat sat on the mat", "a dog", "she sells sea shells", "the cat", "a dog ran", "she sells"]
    with pytest.raises(DataError, match="utterance 'x' names no speaker"):  # 'calls/x' would be in folder 'calls'
        by_speaker(_evaluation("FP32", hypotheses, ids[:5] + ("x",)))
    fp32 = by_speaker(_evaluation("FP32", hypotheses, ids))
    assert [(s.speaker, s.utterances) for s in fp32.speakers] == [("9", 2), ("10", 3), ("calls", 1)]  # 9 before 10
    for speaker, rows in (("9", slice(3, 5)), ("10", slice(0, 3)), ("calls", slice(5, 6))):
        alone = word_error_rate(REFERENCES[rows], hypotheses[rows]).corpus_rate
        assert next(s for s in fp32.speakers if s.speaker == speaker).metrics["wer"] == pytest.approx(alone)
    text = evaluations_markdown([fp32])
    lines = text.splitlines()
    start = lines.index("By speaker:")
    assert lines[start + 2] == "| speaker | utterances | WER | CER |"
    assert lines[start + 4].startswith("| 9 | 2 | 44.44% |")  # 4 words lost of 'the cat sat on the mat' + 'a dog ran'
    int8 = by_speaker(_evaluation("INT8", REFERENCES[:6], ids))
    both = evaluations_markdown([fp32, int8]).splitlines()
    assert "| speaker | utterances | WER FP32 | CER FP32 | WER INT8 | CER INT8 |" in both
    assert "| 9 | 2 | 44.44% |" in "\n".join(both) and both[-1].endswith("| 0.00% | 0.00% |")
    assert '"speaker": "10"' in to_json(fp32) and '"utterance_ids"' in to_json(fp32)
    with pytest.raises(DataError, match="need every utterance's id"):
        by_speaker(_evaluation("no ids", hypotheses))


def test_speakers_the_corpus_names_get_a_who_column():
    ids = ("10-1-0000", "10-1-0001", "9-4-0000")
    fp32 = by_speaker(_evaluation("FP32", REFERENCES[:3], ids), {"10": "Kristin LeMoine (F)", "77": "not here"})
    assert [s.label for s in fp32.speakers] == ["", "Kristin LeMoine (F)"]  # speaker 9 is not in the file
    lines = evaluations_markdown([fp32]).splitlines()
    start = lines.index("By speaker:")
    assert lines[start + 2:start + 4] == ["| speaker | who | utterances | WER | CER |", "|---|---|---|---|---|"]
    assert lines[start + 4].startswith("| 9 |  | 1 | 0.00% |")
    assert lines[start + 5].startswith("| 10 | Kristin LeMoine (F) | 2 |")
    assert '"label": "Kristin LeMoine (F)"' in to_json(fp32)
