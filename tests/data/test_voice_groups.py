"""data_scripts/voice_groups.py: voice-group error rates from what ``speechq eval --json`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from speechq_testing import load_script

from speechq.metrics import char_error_rate, word_error_rate
from speechq.report import to_json
from speechq.workflows import Evaluation

SCRIPT = Path(__file__).resolve().parents[2] / "data_scripts" / "voice_groups.py"
REFERENCES = ["the cat sat on the mat", "a dog ran", "she sells sea shells", "the end", "one two three"]
HYPOTHESES = ["the cat sat on a mat", "a dog ran", "she sells shells", "the end", "one to three four"]
IDS = ["1001-100-0000", "1002-100-0000", "1103-300-0000", "2001-100-0000", "1103-300-0001"]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script(SCRIPT)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    wer, cer = word_error_rate(REFERENCES, HYPOTHESES), char_error_rate(REFERENCES, HYPOTHESES)
    evaluation = Evaluation("model.xml", {"wer": wer.corpus_rate, "cer": cer.corpus_rate}, 5, 10.0, 1.0, "greedy",
                            {"wer": wer, "cer": cer}, tuple(IDS))
    (tmp_path / "eval.json").write_text(to_json([evaluation]))
    (tmp_path / "speakers.tsv").write_text("speaker\tengine\tvoice\theld_out\tsplits\n1001\tespeak-ng\ten-us\t0\ttrain\n"
                                           "1002\tespeak-ng\ten\t0\ttrain\n1103\tflite\trms\t1\ttest\n"
                                           "2001\tfestival\tkal_diphone\t0\ttrain\n")
    return tmp_path / "eval.json", tmp_path / "speakers.tsv"


def test_groups_get_their_own_corpus_rates(script: ModuleType, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    evaluation, speakers = _files(tmp_path)
    assert script.main([str(evaluation), str(speakers)]) == 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    for group, members in (("espeak-ng, heard in training", [0, 1]), ("flite, held out", [2, 4]),
                           ("festival, heard in training", [3])):
        refs, hyps = [REFERENCES[i] for i in members], [HYPOTHESES[i] for i in members]
        wer, cer = word_error_rate(refs, hyps).corpus_rate, char_error_rate(refs, hyps).corpus_rate
        assert rows[group] == f"| {group} | {len(members)} | {100 * wer:.2f}% | {100 * cer:.2f}% |"
    assert len(rows) == 4  # the header and three groups


def test_a_speaker_missing_from_the_file_is_named(script: ModuleType, tmp_path: Path) -> None:
    evaluation, speakers = _files(tmp_path)
    speakers.write_text("\n".join(speakers.read_text().splitlines()[:-1]) + "\n")  # no 2001
    with pytest.raises(SystemExit, match="utterance '2001-100-0000': speaker '2001' is not in the speakers file"):
        script.main([str(evaluation), str(speakers)])
    assert json.loads(evaluation.read_text())[0]["utterance_ids"] == IDS


def test_a_malformed_speakers_file_is_named_with_its_line(script: ModuleType, tmp_path: Path) -> None:
    evaluation, speakers = _files(tmp_path)
    speakers.write_text(speakers.read_text() + "2002\tfestival\n")
    with pytest.raises(SystemExit, match=r"voice_groups: .*speakers.tsv, line 6: expected 5 tab-separated fields, got 2"):
        script.main([str(evaluation), str(speakers)])
