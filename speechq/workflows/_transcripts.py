"""Transcripts a model writes: for their own sake (``speechq transcribe``), or as references that other models'
error rates measure agreement with (audio without transcripts)."""

from __future__ import annotations

import time
from typing import Any, Mapping

from speechq.api.data_loader import DataLoader
from speechq.api.metric import Metric
from speechq.engines import IEEngine
from speechq.model import CompressedModel
from speechq.workflows._building import error_rates
from speechq.workflows._evaluation import Evaluation, decoding_of, error_counts_of, loader_facts


class TranscriptCollector(Metric):
    """Keeps the decoded text of every sample (a "metric" so that any engine can gather transcripts)."""

    def reset(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self._last: list[float] = []

    @property
    def value(self) -> dict[str, list[float]]:
        return {"utterances": self._last}

    @property
    def avg_value(self) -> dict[str, float]:
        return {"utterances": float(len(self.texts))}

    def update(self, output: Any, target: Any) -> None:
        for text, annotation in zip(output, target):
            self.texts.append((getattr(annotation, "utterance_id", str(annotation)), str(text)))
        self._last = [1.0] * len(target)

    def get_attributes(self) -> dict[str, dict[str, str]]:
        return {"utterances": {"direction": "higher-better", "type": "count"}}


def transcribe(engine: IEEngine, model: CompressedModel, loader: DataLoader, print_progress: bool = False) -> list[tuple[str, str]]:
    """``(utterance id, text)`` for every item of ``loader``, in order (the engine must decode to text)."""
    collector = TranscriptCollector()
    engine.set_data_loader(loader)
    engine.set_metric(collector)
    engine.set_model(model)
    engine.predict(print_progress=print_progress)
    return collector.texts


class ReferenceLoader(DataLoader):
    """The items of ``loader`` with other reference transcripts, ``texts[utterance_id]`` (say, the FP32 model's own),
    so that error rates measure agreement with that reference."""

    def __init__(self, loader: DataLoader, texts: Mapping[str, str]) -> None:
        super().__init__(loader.config)
        self._loader, self._texts = loader, dict(texts)

    def __len__(self) -> int:
        return len(self._loader)

    @property
    def texts(self) -> dict[str, str]:
        """The reference transcript of each utterance id."""
        return dict(self._texts)

    def __getitem__(self, index: int) -> Any:
        from speechq.api.types import SpeechAnnotation

        item = self._loader[index]
        annotation = item[1]
        return (item[0], SpeechAnnotation(annotation.utterance_id, self._texts[annotation.utterance_id]), *item[2:])


def agreement_loader(engine: IEEngine, reference: CompressedModel, loader: DataLoader, unit: str = "word",
                     print_progress: bool = False) -> ReferenceLoader:
    """``loader`` with ``reference``'s own transcripts as references (the engine's loader and metric are replaced
    by this and a fresh error-rate metric over ``unit``): for audio without transcripts, error rates then measure how
    far another model's transcripts are from the reference model's."""
    texts = dict(transcribe(engine, reference, loader, print_progress))
    agreement = ReferenceLoader(loader, texts)
    engine.set_data_loader(agreement)
    engine.set_metric(error_rates(unit))
    return agreement


def agreement_reference(engine: IEEngine, reference: CompressedModel, loader: DataLoader, unit: str = "word",
                        label: str = "FP32", print_progress: bool = False) -> tuple[DataLoader, Evaluation]:
    """:func:`agreement_loader`, and the reference model's evaluation from that same pass (no second one): its
    error rates against its own transcripts, computed by the engine's new metric (0 for any deterministic model),
    and the pass's wall time."""
    from speechq.api.types import SpeechAnnotation

    start = time.perf_counter()
    agreement = agreement_loader(engine, reference, loader, unit, print_progress)
    wall = time.perf_counter() - start
    texts = agreement.texts
    metric = error_rates(unit)
    metric.update(list(texts.values()), [SpeechAnnotation(uid, text) for uid, text in texts.items()])
    ids, seconds = loader_facts(agreement)
    return agreement, Evaluation(label, dict(metric.avg_value), len(agreement), seconds, wall, decoding_of(engine),
                                 error_counts_of(metric), ids)
