"""FP32 against INT8 speed in one run: latency per inference and end-to-end throughput through the recipe's engine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from speechq.api.data_loader import DataLoader
from speechq.api.sampler import IndexSampler
from speechq.benchmark import LATENCY_ROWS, Latency, compare_latencies, spread
from speechq.engines import IEEngine
from speechq.model import load_model
from speechq.workflows._building import make_decoder, make_engine, make_loader
from speechq.workflows._evaluation import audio_seconds
from speechq.zoo.specs import RecipeSpec


@dataclass(frozen=True)
class Throughput:
    """End-to-end speed of one model through its recipe's engine (features cached, decoding included).

    Attributes:
        label: which model and precision; streams: utterances in flight (1 = single stream);
        audio_seconds: audio per pass; median_s, p10_s, p90_s: wall time of a pass over the data; runs: timed passes.
    """

    label: str
    streams: int
    audio_seconds: float
    median_s: float
    p10_s: float
    p90_s: float
    runs: int

    @property
    def audio_per_second(self) -> float:
        """Seconds of audio processed per wall-clock second (median pass; higher is faster)."""
        return self.audio_seconds / self.median_s if self.median_s else float("nan")


@dataclass(frozen=True)
class BenchmarkResult:
    """FP32 against INT8 speed, all measured in one run on the same inputs.

    ``latencies``: per inference (a chunk for streaming models, an utterance otherwise), FP32 in f32, FP32 in
    OpenVINO's default precision, INT8 last; ``throughputs``: the same three models end to end, single stream and
    with ``streams`` utterances in flight.
    """

    recipe: str
    fp32_model: str
    int8_model: str
    utterances: int
    latencies: tuple[Latency, ...]
    latency_unit: str
    throughputs: tuple[Throughput, ...]
    threads: int | None


def benchmark_models(
    spec: RecipeSpec,
    fp32_path: str | Path,
    int8_path: str | Path,
    data: str | Path,
    *,
    label_dir: str | Path | None = None,
    skip_bad: bool = False,
    utterances: int = 8,
    streams: int | None = None,
    threads: int | None = None,
    latency_repeats: int = 50,
    throughput_runs: int = 5,
    device: str = "CPU",
) -> BenchmarkResult:
    """Latency per inference and end-to-end throughput of an FP32 model and its INT8 version, in one run.

    ``utterances``: the first ones of ``data`` are used; ``streams``: utterances in flight for the all-cores
    throughput (default: the number of CPU cores); ``threads``: CPU threads for inference (default: all);
    ``skip_bad``: leave bad utterances of ``data`` out, with a warning each (see :func:`make_loader`).

    Raises:
        ConfigError: non-positive sizes; ModelError and DataError from loading.
    """
    import os

    from speechq.engines._options import positive_int

    for key, value in (("utterances", utterances), ("latency_repeats", latency_repeats),
                       ("throughput_runs", throughput_runs)):
        positive_int("benchmark", key, value)
    streams = positive_int("benchmark", "streams", streams if streams is not None else (os.cpu_count() or 1))
    models = {}
    for label, path in (("FP32", fp32_path), ("INT8", int8_path)):
        models[label] = load_model(path)
        spec.check_model(models[label].model, str(path))
    loader = make_loader(spec, data, label_dir, skip_bad=skip_bad)
    count = min(utterances, len(loader))
    subset = _FirstItems(loader, count)
    decoder = make_decoder(spec, spec.vocabulary_for(fp32_path))
    base = {"device": device, **({} if threads is None else {"num_threads": threads})}
    engine = make_engine(spec, subset, decoder, None, {**base, "inference_precision": "f32"})
    engine.set_model(models["FP32"])
    inputs = engine.collect_model_inputs(IndexSampler(subset, [0]))
    latencies = compare_latencies(models["FP32"].model, models["INT8"].model, inputs, num_threads=threads,
                                  repeats=latency_repeats, device=device)
    measured = {lat.label for lat in latencies}  # without the default precision where the plugin cannot run it
    runs = [(label, models[which], precision) for label, which, precision in LATENCY_ROWS if label in measured]
    audio = audio_seconds(subset)
    throughputs = []
    for n in sorted({1, streams}):
        for label, model, precision in runs:
            engine = make_engine(spec, subset, decoder, None,
                                 {**base, "inference_precision": precision, "eval_requests_number": n})
            engine.set_model(model)
            times = _pass_times(engine, throughput_runs)
            throughputs.append(Throughput(label, n, audio, *spread(times), len(times)))
    return BenchmarkResult(
        recipe=spec.name, fp32_model=str(fp32_path), int8_model=str(int8_path), utterances=count,
        latencies=latencies, latency_unit="chunk" if spec.engine == "streaming" else "utterance",
        throughputs=tuple(throughputs), threads=threads,
    )


def _pass_times(engine: IEEngine, runs: int) -> list[float]:
    engine.predict()  # warm-up: compiles, fills the feature cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.predict()
        times.append(time.perf_counter() - start)
    return times


class _FirstItems(DataLoader):
    """The first ``count`` items of a loader (sharing its feature cache)."""

    def __init__(self, loader: DataLoader, count: int) -> None:
        super().__init__(loader.config)
        self._loader, self._count = loader, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._loader[index]


def summarise_latency(latencies: Sequence[Latency]) -> dict[str, float]:
    """Speed-ups of the last entry (INT8) over each other entry, from medians in the same run."""
    int8 = latencies[-1]
    return {f"INT8 vs {lat.label}": lat.median_ms / int8.median_ms for lat in latencies[:-1]}
