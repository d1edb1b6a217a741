"""Turn a downloaded LibriSpeech split into the flat layout older POT scripts used, plus manifests.

Input: a split in LibriSpeech's own layout (``dev-clean/<speaker>/<chapter>/<id>.flac`` with
``<speaker>-<chapter>.trans.txt``). Output::

    <out>/wav/<id>.wav             the same samples (16 kHz, 16-bit), as WAV
    <out>/annotation/<id>.txt      the transcript, as in the corpus (upper case)
    <out>/manifest.tsv             path<TAB>transcript<TAB>duration_s (paths relative to <out>)
    <out>/manifest.jsonl           {"id", "path", "transcript", "duration"} per line

Any of the three (the split itself, ``--dataset <out>/wav --label-dir <out>/annotation``, or a manifest) can be
given to speechq's ``LibriSpeechDataLoader`` and gives the same items. Re-running on a prepared folder does nothing;
a folder holding anything else is refused unless ``--overwrite``.

Usage::

    python data_scripts/prepare_librispeech.py /data/LibriSpeech/dev-clean --out /data/dev-clean-flat
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from speechq.data import prepare_librispeech
from speechq.errors import SpeechqError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("split", type=Path, help="a LibriSpeech split folder, e.g. LibriSpeech/dev-clean")
    parser.add_argument("--out", type=Path, required=True, help="output folder (wav/, annotation/, manifests)")
    parser.add_argument("--overwrite", action="store_true", help="replace wav/, annotation/ and manifests in --out")
    parser.add_argument("--skip-bad", action="store_true", help="skip bad utterances (warning each) instead of failing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        result = prepare_librispeech(args.split, args.out, overwrite=args.overwrite, skip_bad=args.skip_bad)
    except SpeechqError as error:
        print(f"prepare_librispeech: {error}", file=sys.stderr)
        return 1
    state = "written" if result.written else "already prepared, nothing written"
    print(f"{result.root}: {result.num_utterances} utterances ({state}); "
          f"--dataset {result.audio_dir} --label-dir {result.label_dir}, or {result.manifests[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
