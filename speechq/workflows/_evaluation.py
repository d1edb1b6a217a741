"""One model's error rates on a data set (:class:`Evaluation`), per speaker, and their changes between two models."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Mapping, Sequence

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric, MetricGroup
from speechq.constants import SAMPLE_RATE_HZ
from speechq.data import speaker_of
from speechq.engines import IEEngine
from speechq.errors import ConfigError, DataError
from speechq.metrics import ErrorRateMetric, ErrorRates, RateChange, rate_change
from speechq.model import CompressedModel


@dataclass(frozen=True)
class SpeakerRates:
    """One speaker's part of an evaluation: the speaker (:func:`speechq.data.speaker_of`), how many utterances,
    each error rate over them, corpus-level (their edits / their reference length), and who the speaker is where the
    corpus says (:func:`speechq.data.speaker_labels`; empty otherwise)."""

    speaker: str
    utterances: int
    metrics: Mapping[str, float]
    label: str = ""


@dataclass(frozen=True)
class Evaluation:
    """One model's figures on one data set.

    Attributes:
        label: e.g. ``"FP32"``; metrics: ``{"wer": ..., "cer": ...}`` corpus-level; utterances: items scored;
        audio_seconds: their total duration; wall_seconds: evaluation time (decoding included); decoding: how
        the outputs were decoded (the decoder's ``description``, e.g. ``"greedy"``), empty when unknown;
        error_counts: for each error-rate metric, the edits and reference length of every utterance in data-set
        order (what :func:`rate_changes` resamples), empty when the metric is not an error rate; utterance_ids: the
        utterances in that order (empty when the loader does not name them); speakers: each speaker's error rates,
        when asked for (:func:`by_speaker`).
    """

    label: str
    metrics: Mapping[str, float]
    utterances: int
    audio_seconds: float
    wall_seconds: float
    decoding: str = ""
    error_counts: Mapping[str, ErrorRates] = field(default_factory=dict)
    utterance_ids: tuple[str, ...] = ()
    speakers: tuple[SpeakerRates, ...] = ()

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio (lower is faster)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else float("nan")


def audio_seconds(loader: DataLoader) -> float:
    """Seconds of audio in ``loader`` (from its items' ``num_samples``)."""
    return loader_facts(loader)[1]


def loader_facts(loader: DataLoader) -> tuple[tuple[str, ...], float]:
    """The loader's utterance ids in its order (empty when an item names none) and its seconds of audio."""
    ids: list[str | None] = []
    samples = 0
    for index in range(len(loader)):
        item = loader[index]
        metadata = item[2] if len(item) == 3 else {}
        samples += int(metadata.get("num_samples", 0))
        ids.append(getattr(item[1], "utterance_id", None) or metadata.get("utterance_id"))
    named = tuple(str(uid) for uid in ids if uid is not None)
    return (named if len(named) == len(ids) else ()), samples / SAMPLE_RATE_HZ


def evaluate_model(engine: IEEngine, model: CompressedModel, label: str, print_progress: bool = False) -> Evaluation:
    """The engine's metrics for ``model`` over its whole data set, with wall time."""
    if engine.data_loader is None:
        raise ConfigError("evaluate_model needs an engine with a data loader")
    engine.set_model(model)
    start = time.perf_counter()
    metrics, _ = engine.predict(print_progress=print_progress)
    wall = time.perf_counter() - start
    ids, seconds = loader_facts(engine.data_loader)
    return Evaluation(label, dict(metrics or {}), len(engine.data_loader), seconds, wall, decoding_of(engine),
                      error_counts_of(engine.metric), ids)


def speaker_groups(utterance_ids: Sequence[str]) -> dict[str, list[int]]:
    """Each speaker's utterances (positions in ``utterance_ids``), speakers in natural order ("2" before "10").

    Raises:
        DataError: an utterance id names no speaker (:func:`speechq.data.speaker_of`: LibriSpeech ids, or audio in
            one folder per speaker).
    """
    groups: dict[str, list[int]] = {}
    for index, uid in enumerate(utterance_ids):
        speaker = speaker_of(uid)
        if speaker is None:
            raise DataError(f"utterance {uid!r} names no speaker: per-speaker rates need LibriSpeech ids "
                            "(<speaker>-<chapter>-<n>) or audio files in one folder per speaker")
        groups.setdefault(speaker, []).append(index)
    order = sorted(groups, key=lambda s: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)])
    return {speaker: groups[speaker] for speaker in order}


def by_speaker(evaluation: Evaluation, labels: Mapping[str, str] | None = None) -> Evaluation:
    """``evaluation`` with each speaker's error rates (``speakers``, in :func:`speaker_groups`' order), labelled
    from ``labels`` (speaker -> label, e.g. :func:`speechq.data.speaker_labels`) where it names the speaker.

    Raises:
        DataError: the evaluation holds no per-utterance error counts or utterance ids, or an utterance id names
            no speaker.
    """
    if not evaluation.error_counts or len(evaluation.utterance_ids) != evaluation.utterances:
        raise DataError(f"{evaluation.label}: per-speaker error rates need every utterance's id and error counts, "
                        "which this evaluation does not hold")
    labels = labels or {}
    speakers = tuple(SpeakerRates(speaker, len(positions), {name: counts.corpus_rate_of(positions)
                                                            for name, counts in evaluation.error_counts.items()},
                                  labels.get(speaker, ""))
                     for speaker, positions in speaker_groups(evaluation.utterance_ids).items())
    return replace(evaluation, speakers=speakers)


def error_counts_of(metric: Metric | None) -> dict[str, ErrorRates]:
    """The counts behind each error rate of ``metric`` (an error-rate metric or a group of them), by name."""
    parts = metric.metrics if isinstance(metric, MetricGroup) else (metric,)
    return {part.name: part.result for part in parts if isinstance(part, ErrorRateMetric)}


def rate_changes(before: Evaluation, after: Evaluation) -> dict[str, RateChange]:
    """``after``'s error rates minus ``before``'s, each with a 95% paired-bootstrap interval
    (:func:`speechq.metrics.rate_change`), for the rates both evaluations hold per-utterance counts of.

    Raises:
        DataError: the two were not scored on the same utterances (by id, where both name them).
    """
    if before.utterance_ids and after.utterance_ids and before.utterance_ids != after.utterance_ids:
        differ = next(pair for pair in zip_longest(before.utterance_ids, after.utterance_ids, fillvalue="(none)")
                      if pair[0] != pair[1])
        raise DataError(f"{before.label} and {after.label} were scored on different utterances ({differ[0]!r} "
                        f"against {differ[1]!r}); their error rates do not pair")
    return {name: rate_change(counts, after.error_counts[name])
            for name, counts in before.error_counts.items() if name in after.error_counts}


def decoding_of(engine: IEEngine) -> str:
    """How ``engine`` decodes its outputs (its postprocess decoder's ``description``); empty when it does not say."""
    return str(getattr(getattr(engine, "postprocess", None), "description", ""))
