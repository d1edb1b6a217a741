"""Interfaces users subclass, as POT defined them."""

from speechq.api.data_loader import DataLoader
from speechq.api.engine import Engine, StatsLayout
from speechq.api.metric import Metric, MetricGroup
from speechq.api.sampler import BatchSampler, IndexSampler, Sampler
from speechq.api.types import ModelInput, Sample, SpeechAnnotation

__all__ = [
    "BatchSampler",
    "DataLoader",
    "Engine",
    "IndexSampler",
    "Metric",
    "MetricGroup",
    "ModelInput",
    "Sample",
    "Sampler",
    "SpeechAnnotation",
    "StatsLayout",
]
