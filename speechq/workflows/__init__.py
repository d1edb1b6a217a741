"""What the CLI and recipes do, as library functions: evaluate, quantize and compare, benchmark, transcribe.

Each composes the library's pieces (recipe spec -> loader, engine, decoder, metric; pipeline; latency) and returns
frozen results; printing and report files are the caller's business (``speechq.report``).

- ``_building``: a recipe spec's loader, decoder, engine and error-rate metric for one run;
- ``_evaluation``: one model's error rates on a data set, per speaker, and changes between two models;
- ``_transcripts``: a model's transcripts, and as references for agreement on audio without transcripts;
- ``_quantize``: quantize, evaluate FP32 against INT8, time and save (and POT's JSON configs);
- ``_benchmark``: FP32 against INT8 latency and throughput in one run.
"""

from speechq.workflows._benchmark import BenchmarkResult, Throughput, benchmark_models, summarise_latency
from speechq.workflows._building import (ChainLoader, error_rates, has_transcripts, make_decoder, make_engine,
                                         make_loader, spoken_characters)
from speechq.workflows._evaluation import (Evaluation, SpeakerRates, by_speaker, evaluate_model, rate_changes,
                                           speaker_groups)
from speechq.workflows._quantize import QuantizeResult, quantize_and_compare, read_pot_config, weight_bytes
from speechq.workflows._transcripts import (ReferenceLoader, TranscriptCollector, agreement_loader, agreement_reference,
                                            transcribe)

__all__ = [
    "BenchmarkResult",
    "ChainLoader",
    "Evaluation",
    "QuantizeResult",
    "ReferenceLoader",
    "SpeakerRates",
    "Throughput",
    "TranscriptCollector",
    "agreement_loader",
    "agreement_reference",
    "benchmark_models",
    "by_speaker",
    "error_rates",
    "evaluate_model",
    "has_transcripts",
    "make_decoder",
    "make_engine",
    "make_loader",
    "quantize_and_compare",
    "rate_changes",
    "read_pot_config",
    "speaker_groups",
    "spoken_characters",
    "summarise_latency",
    "transcribe",
    "weight_bytes",
]
