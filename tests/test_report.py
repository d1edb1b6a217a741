"""The evaluation table: several models on the same utterances are compared with the first, with intervals."""

from __future__ import annotations

from speechq.metrics import char_error_rate, rate_change, word_error_rate
from speechq.report import evaluations_markdown
from speechq.workflows import Evaluation, rate_changes

REFERENCES = ["the cat sat on the mat", "a dog ran", "she sells sea shells"] * 20


def _evaluation(label: str, hypotheses: list[str]) -> Evaluation:
    wer, cer = word_error_rate(REFERENCES[: len(hypotheses)], hypotheses), char_error_rate(
        REFERENCES[: len(hypotheses)], hypotheses)
    return Evaluation(label, {"wer": wer.corpus_rate, "cer": cer.corpus_rate}, len(hypotheses), 60.0, 1.0, "greedy",
                      {"wer": wer, "cer": cer})


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
