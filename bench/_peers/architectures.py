"""The architectures the peer benchmark compares tools on, and what differs between them in its reports.

Each architecture has its own data (DeepSpeech MFCC chunks, Wav2Vec2 waveforms), its own contenders
(``contenders.CONTENDERS``), its own report files (``OUT.md`` for DeepSpeech, ``OUT_wav2vec2.md`` for Wav2Vec2)
and the same rules: same utterances for every contender, same machine, each contender in its own process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ZOO = Path(__file__).resolve().parents[2] / "speechq" / "zoo"


@dataclass(frozen=True)
class Architecture:
    """One benchmarked architecture.

    Attributes:
        key: ``deepspeech`` or ``wav2vec2`` (also speechq's recipe name); name: what the report says;
        shipped_model: the trained IR whose WER is measured; config: its Hugging Face config (None: DeepSpeech);
        latency_unit: what one latency figure covers; suffix: appended to ``--out`` for this architecture's files.
    """

    key: str
    name: str
    shipped_model: Path
    latency_unit: str
    suffix: str
    config: Path | None = None

    def out(self, base: Path) -> Path:
        """This architecture's report path (no suffix) for ``--out base``."""
        return base.with_name(base.name + self.suffix)


ARCHITECTURES: dict[str, Architecture] = {
    "deepspeech": Architecture("deepspeech", "DeepSpeech", ZOO / "deepspeech_small" / "model.xml", "16-step chunk", ""),
    "wav2vec2": Architecture("wav2vec2", "Wav2Vec2", ZOO / "wav2vec2_small" / "model.xml", "utterance", "_wav2vec2",
                             config=ZOO / "wav2vec2_small" / "config.json"),
}
