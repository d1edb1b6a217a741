"""What a recipe spec builds for a run: its loader over a data set, its decoder, its engine and error-rate metric."""

from __future__ import annotations

import string
import unicodedata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric, MetricGroup
from speechq.engines import IEEngine, StreamingEngine, WindowedEngine
from speechq.errors import ConfigError
from speechq.metrics import CharErrorRate, TokenErrorRate, WordErrorRate
from speechq.zoo.specs import RecipeSpec


def make_loader(spec: RecipeSpec, data: str | Path, label_dir: str | Path | None = None,
                labelled: bool = True, skip_bad: bool = False) -> DataLoader:
    """The recipe's speech loader over ``data``: labelled (LibriSpeech layout, flat folder + ``label_dir``, or
    manifest), or with ``labelled=False`` any folder of audio files (annotations without text). Every file is
    decoded here (features cached), so NaN, infinite or silent audio is refused before the first inference; with
    ``skip_bad`` bad utterances are left out instead, with a warning each and a count."""
    from speechq.data import AudioFolderDataLoader, LibriSpeechDataLoader

    if not labelled:
        if label_dir is not None:
            raise ConfigError("label_dir (--label-dir) has no use when the audio is scored without its transcripts")
        return AudioFolderDataLoader(Path(data), features=spec.features(), check_audio=True, skip_bad=skip_bad)
    return LibriSpeechDataLoader(Path(data), features=spec.features(), check_audio=True, alphabet=spoken_characters(spec),
                                 label_dir=None if label_dir is None else Path(label_dir), skip_bad=skip_bad)


_PUNCTUATION = frozenset(c for c in string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u00a1\u00bf"
                         if unicodedata.category(c).startswith("P"))  # what the English normalisation removes


def spoken_characters(spec: RecipeSpec) -> frozenset[str] | None:
    """Characters a transcript may hold for ``spec``'s model: its one-character tokens (any case), the space, and
    punctuation (which WER/CER's normalisation removes). A transcript with others (digits, accented letters the
    model cannot spell) would be scored against text the model can never produce, so the loader refuses it.
    None where the vocabulary's tokens are not single characters (word pieces): then nothing is checked."""
    tokens = [t for t in spec.vocabulary(None).tokens if t]
    if not tokens or any(len(t) != 1 for t in tokens):
        return None
    return frozenset(tokens) | {" "} | _PUNCTUATION


class ChainLoader(DataLoader):
    """The items of several loaders, one after the other (e.g. one per audio file given on a command line)."""

    def __init__(self, loaders: Sequence[DataLoader]) -> None:
        super().__init__()
        self._loaders = list(loaders)
        self._starts = np.cumsum([0] + [len(loader) for loader in self._loaders])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self._loaders[which][index - int(self._starts[which])]


def has_transcripts(data: str | Path, label_dir: str | Path | None = None) -> bool:
    """Whether ``data`` comes with transcripts: a manifest file, a flat folder with ``label_dir``, or a folder in
    LibriSpeech's layout (``*.trans.txt`` files)."""
    path = Path(data)
    return path.is_file() or label_dir is not None or next(path.rglob("*.trans.txt"), None) is not None


def make_decoder(spec: RecipeSpec, vocabulary: Any, decoder: str = "auto", lm_path: str | Path | None = None,
                 beam_width: int = 64, model_path: str | Path | None = None) -> Any:
    """The recipe's CTC decoder (its logits layout and outputs), usable as the engine's ``postprocess``; ``decoder``,
    ``lm_path`` and ``model_path`` choose greedy or beam search as :func:`speechq.decoding.decoder_for` does."""
    from speechq.decoding import decoder_for

    return decoder_for(vocabulary, spec.logits_layout, decoder, lm_path=lm_path, model_path=model_path,
                       beam_width=beam_width, logits_output=spec.logits_output, lengths_output=spec.lengths_output)


def error_rates(unit: str = "word") -> Metric:
    """Corpus-level WER and CER (``unit="word"``), or token error rate (``"token"``: space-separated tokens).

    Raises:
        ConfigError: another unit.
    """
    if unit == "word":
        return MetricGroup(WordErrorRate(), CharErrorRate())
    if unit == "token":
        return MetricGroup(TokenErrorRate())
    raise ConfigError(f"error rates are over 'word' or 'token', got {unit!r}")


def make_engine(spec: RecipeSpec, loader: DataLoader | None, decoder: Any, metric: Metric | None = None,
                engine_config: Mapping[str, Any] | None = None) -> IEEngine:
    """The engine a recipe runs its models with (streaming, windowed or plain), decoding with ``decoder``."""
    config = {**spec.engine_config, **dict(engine_config or {})}
    kinds: dict[str, type[IEEngine]] = {"streaming": StreamingEngine, "windowed": WindowedEngine, "plain": IEEngine}
    return kinds[spec.engine](config, loader, metric, postprocess=decoder)
