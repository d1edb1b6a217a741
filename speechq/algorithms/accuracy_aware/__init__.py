from speechq.algorithms.accuracy_aware.algorithm import AccuracyAwareQuantization, AccuracyAwareResult, metric_drop
from speechq.algorithms.accuracy_aware.fake_quantize import QuantizedLayer, quantized_layers, revert_layers

__all__ = [
    "AccuracyAwareQuantization",
    "AccuracyAwareResult",
    "QuantizedLayer",
    "metric_drop",
    "quantized_layers",
    "revert_layers",
]
