"""Engines that run models: IEEngine (POT's simplified engine), StreamingEngine (recurrent models chunk by chunk
with carried state), and what the runtime really executes."""

from speechq.engines.ie_engine import IEEngine, output_names
from speechq.engines.runtime import RuntimeLayer, runtime_layers
from speechq.engines.streaming_engine import StreamingEngine, make_stateful
from speechq.engines.windowed_engine import WindowedEngine

__all__ = ["IEEngine", "RuntimeLayer", "StreamingEngine", "WindowedEngine", "make_stateful", "output_names", "runtime_layers"]
