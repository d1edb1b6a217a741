"""Error rates of the synthetic corpus' voice groups (engine, heard in training or held out) from ``speechq eval``.

The corpus' ``speakers.tsv`` says which engine and voice each speaker id is and whether it is held out of training;
``speechq eval --json`` gives every utterance's id, edits and reference length. This script sums them per group, so
that "how well does the model read voices it never heard" is one command::

    speechq eval --json --decoder greedy -d /work/corpus-v2/test model.xml > eval.json
    python data_scripts/voice_groups.py eval.json /work/corpus-v2/speakers.tsv

It prints a Markdown table per model: group, utterances, WER, CER (corpus-level within the group).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from speechq.data import read_speakers_tsv, speaker_of
from speechq.errors import DataError
from speechq.metrics import ErrorRates


def read_speakers(path: Path) -> dict[str, str]:
    """Speaker id -> group name (``"<engine>, held out"`` or ``"<engine>, heard in training"``)."""
    try:
        rows = read_speakers_tsv(path)
    except DataError as error:
        raise SystemExit(f"voice_groups: {error}") from None
    return {speaker: f"{row['engine']}, {'held out' if row['held_out'] == '1' else 'heard in training'}"
            for speaker, row in rows.items()}


def group_table(evaluation: dict[str, Any], groups: dict[str, str]) -> list[str]:
    """Markdown rows: every group of the evaluation's utterances with its corpus WER and CER."""
    ids = evaluation["utterance_ids"]
    if not ids:
        raise SystemExit(f"voice_groups: {evaluation['label']} lists no utterance ids (speechq eval --json gives them)")
    members: dict[str, list[int]] = {}
    for index, uid in enumerate(ids):
        speaker = speaker_of(uid)
        if speaker not in groups:
            raise SystemExit(f"voice_groups: utterance {uid!r}: speaker {speaker!r} is not in the speakers file")
        members.setdefault(groups[speaker], []).append(index)
    error_counts = {name: ErrorRates(**{k: tuple(v) if isinstance(v, list) else v for k, v in counts.items()})
                    for name, counts in evaluation["error_counts"].items()}
    rows = [f"{evaluation['label']}:", "", "| voices | utterances | WER | CER |", "|---|---|---|---|"]
    for group in sorted(members):
        rates = [f"{100 * counts.corpus_rate_of(members[group]):.2f}%" for counts in (error_counts["wer"], error_counts["cer"])]
        rows.append(f"| {group} | {len(members[group])} | {' | '.join(rates)} |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("evaluation", type=Path, help="what speechq eval --json printed")
    parser.add_argument("speakers", type=Path, help="the corpus' speakers.tsv")
    args = parser.parse_args(argv)
    groups = read_speakers(args.speakers)
    for evaluation in json.loads(args.evaluation.read_text(encoding="utf-8")):
        print("\n".join(group_table(evaluation, groups)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
