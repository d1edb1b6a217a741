"""The parts of a speech model's graph that INT8 breaks, found by their structure, so that they stay FP32.

Two kinds of subgraph lose the signal when their inputs are rounded to 256 levels:

- **An in-graph front end** (waveform -> DFT/RDFT/STFT or a convolution with Fourier kernels -> power or magnitude
  -> mel filterbank -> log -> normalisation). A power spectrum spans ten or more decades: on one per-tensor 8-bit
  grid, every bin below about 1/256 of the loudest becomes zero, the log of the mel energies falls to its floor and
  the features the rest of the model reads are wrecked. Found from each ``Log`` whose whole ancestry back to the model
  inputs is signal processing (spectral transforms, linear maps with constant weights, products, powers, sums,
  data movement: no activation function, no recurrent or attention layer). Kept with it: the normalisation that
  follows (mean and variance of the log-mel itself), fixed linear transforms of the features (a DCT: a weighted layer
  whose output only reaches other weighted layers, through data movement), and the first weighted layer that reads
  the features, whose input quantizer would otherwise flatten features of very different ranges onto one grid
  (MFCC's c0 against the higher cepstra). Measured on the shipped DeepSpeech weights behind an in-graph MFCC front
  end (100 held-out utterances): CER against FP32's transcripts 59.7% with everything INT8, 3.4% with the front end
  FP32, 0.78% with the DCT and the first layer too.
- **The first feature-encoder convolutions on the raw waveform** (Wav2Vec2, HuBERT, data2vec, WavLM ...): 8 bits
  on a waveform is a 48 dB dynamic range, below that of quiet speech, and the group normalisation after the first
  convolution rescales every channel to unit variance, quiet channels' rounding noise included. Found from each
  floating-point model input of rank 2 (``[batch, samples]``) or ``[batch, 1, samples]``: the first
  ``waveform_convolutions`` Convolution nodes reached from it through data movement, normalisation and activation
  functions only, together with those in-between nodes and the ones after the last kept convolution up to the next
  compute layer (so that its output is not quantized for the normalisation that follows either). Measured on the
  shipped Wav2Vec2-architecture model with its recipe's defaults (mixed preset, SmoothQuant on convolutions; 50 dev
  utterances for calibration, 100 held-out test utterances), CER against FP32's transcripts: 3.17% with every
  convolution INT8, 2.63% with the first FP32 (the default), 2.35% with two (the second costs about a fifth of
  Wav2Vec2-base's work in f32).

One kind of layer loses too much of its signal at 8 bits:

- **Depthwise convolutions** (a GroupConvolution with one input channel per group: conformer convolution modules,
  QuartzNet/Citrinet's time-channel separable convolutions, MobileNet-style blocks). Each output sums only the
  kernel's taps of one channel, so the rounding noise of the input and weights is not averaged down over channels
  as in a dense layer, and the one per-tensor input grid must serve channels of very different ranges (a GLU's
  output). They hold a small share of a model's work (C x K multiply-adds per output frame against C x C x K for a
  dense convolution). Measured on the 5-epoch conformer of ``train_small_models.py --model conformer`` (100
  utterances, per-layer sensitivity): its three depthwise convolutions were the three most sensitive layers, and
  keeping them FP32 took the CER against FP32's transcripts from 3.63% to 1.14% (WER 17.9% to 6.0%); on 500
  held-out utterances, from 4.6% to 2.26%.

:func:`find_fp32_front_end` is pure (reads the graph, changes nothing); DefaultQuantization passes the names it finds
to NNCF's ignored scope (the front end unless ``keep_front_end_fp32`` is false, depthwise convolutions unless
``keep_depthwise_fp32`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, cast

import openvino as ov

from speechq.algorithms.graph import DATA_MOVEMENT
from speechq.constants import DEFAULT_FRONT_END_WAVEFORM_CONVOLUTIONS

__all__ = [
    "DEPTHWISE_CONVOLUTIONS",
    "SPECTRAL_FRONT_END",
    "WAVEFORM_CONVOLUTIONS",
    "FrontEndPart",
    "find_fp32_front_end",
    "front_end_names",
]

SPECTRAL_FRONT_END = "spectral front end"
WAVEFORM_CONVOLUTIONS = "waveform convolutions"
DEPTHWISE_CONVOLUTIONS = "depthwise convolutions"

SPECTRAL = frozenset({"DFT", "RDFT", "STFT", "IDFT", "IRDFT"})
CONVOLUTIONS = frozenset({"Convolution", "GroupConvolution"})
LINEAR = frozenset({"MatMul"}) | CONVOLUTIONS
_ARITHMETIC = frozenset(
    {"Add", "Subtract", "Multiply", "Divide", "Power", "Sqrt", "Abs", "SquaredDifference", "Maximum", "Minimum",
     "Clamp", "Negative", "Convert", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "MVN"}
)
# Ops that compute indices and shapes (framing, padding, lengths) rather than signal values.
_SHAPES = frozenset(
    {"ShapeOf", "Range", "Gather", "GatherElements", "Slice", "Select", "Equal", "Greater", "GreaterEqual", "Less",
     "LessEqual", "NotEqual", "Floor", "Ceiling", "FloorMod", "Mod", "Sin", "Cos", "ScatterUpdate",
     "ScatterNDUpdate", "ScatterElementsUpdate", "Broadcast", "Tile", "Concat", "Pad", "Interpolate"}
)
_SOURCES = frozenset({"Parameter", "Constant"})
# What a front end's ancestry may hold: signal processing, no activation function or learned nonlinearity.
SIGNAL_PROCESSING = SPECTRAL | LINEAR | _ARITHMETIC | _SHAPES | DATA_MOVEMENT | _SOURCES | {"Log"}
# What may follow the log: normalisation computed from the features themselves, and data movement (not Maximum,
# Minimum or Clamp, which after the log are activation functions: ReLU, clipped ReLU).
NORMALISATION = (_ARITHMETIC | _SHAPES | DATA_MOVEMENT) - {"Maximum", "Minimum", "Clamp"}
# What may lie between the waveform and its convolutions (normalisation, activation functions, group norm).
ENCODER_GLUE = NORMALISATION | {"Maximum", "Minimum", "Clamp", "GroupNormalization", "Gelu", "Relu", "Erf", "Tanh", "Sigmoid", "Swish", "HSwish",
                                "Mish", "Elu", "PRelu", "Exp"}
_NOT_KEPT = frozenset({"Parameter", "Constant", "Result"})
MIN_WAVEFORM_SAMPLES = 1600  # a static input this long or longer (0.1 s at 16 kHz) is a waveform


@dataclass(frozen=True)
class FrontEndPart:
    """One subgraph kept in FP32.

    Attributes:
        kind: :data:`SPECTRAL_FRONT_END`, :data:`WAVEFORM_CONVOLUTIONS` or :data:`DEPTHWISE_CONVOLUTIONS`.
        anchor: the node it was found from (the ``Log`` of a spectral front end, the model input of waveform
            convolutions, the first depthwise convolution).
        nodes: friendly names of its nodes (model inputs and constants excluded), in topological order.
        layers: those of them that NNCF would quantize with weights (MatMul, Convolution), for logs and reports.
    """

    kind: str
    anchor: str
    nodes: tuple[str, ...]
    layers: tuple[str, ...]

    @property
    def switch(self) -> str:
        """The DefaultQuantization parameter whose ``false`` quantizes this part."""
        return "keep_depthwise_fp32" if self.kind == DEPTHWISE_CONVOLUTIONS else "keep_front_end_fp32"

    def describe(self) -> str:
        """One line: what was kept and why."""
        layers = ", ".join(self.layers) if self.layers else "no weighted layer"
        if self.kind == DEPTHWISE_CONVOLUTIONS:
            return f"{self.kind}: {len(self.nodes)} ({layers})"
        return f"{self.kind} from {self.anchor!r}: {len(self.nodes)} nodes ({layers})"


_VARIABLE = frozenset({"Parameter", "ReadValue"})


@dataclass(frozen=True)
class _Graph:
    """A model's nodes in topological order and the names of those that compute constants (weights behind
    Convert from fp16, decompression arithmetic, ...)."""

    ordered: tuple[ov.Node, ...]
    constants: frozenset[str]

    @classmethod
    def of(cls, model: ov.Model) -> _Graph:
        ordered = tuple(model.get_ordered_ops())
        constants: set[str] = set()
        for node in ordered:
            inputs = [value.get_node().get_friendly_name() for value in node.input_values()]
            if node.get_type_name() == "Constant" or (
                    inputs and node.get_type_name() not in _VARIABLE and all(i in constants for i in inputs)):
                constants.add(node.get_friendly_name())
        return cls(ordered, frozenset(constants))

    def sources(self, node: ov.Node) -> list[ov.Node]:
        """The nodes feeding ``node``'s inputs that do not compute constants."""
        return [value.get_node() for value in node.input_values()
                if value.get_node().get_friendly_name() not in self.constants]


def _ancestors(node: ov.Node) -> dict[str, ov.Node]:
    """Every node ``node`` depends on (itself included), by friendly name."""
    found: dict[str, ov.Node] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        name = current.get_friendly_name()
        if name in found:
            continue
        found[name] = current
        stack.extend(value.get_node() for value in current.input_values())
    return found


def _is_spectral_log(ancestry: dict[str, ov.Node]) -> bool:
    """The ancestry of a Log is a front end: signal processing only, from a model input, through a spectral
    transform or a linear map (the filterbank, a Fourier convolution)."""
    types = {node.get_type_name() for node in ancestry.values()}
    return types <= SIGNAL_PROCESSING and "Parameter" in types and bool(types & (SPECTRAL | LINEAR))


def _extend_forward(graph: _Graph, region: set[str], allowed: frozenset[str]) -> None:
    """Add to ``region`` every node of an ``allowed`` type all of whose non-constant inputs are in it (one pass in
    topological order reaches the closure)."""
    for node in graph.ordered:
        name = node.get_friendly_name()
        if name in region or node.get_type_name() not in allowed:
            continue
        sources = graph.sources(node)
        if sources and all(source.get_friendly_name() in region for source in sources):
            region.add(name)


def _part(kind: str, anchor: str, graph: _Graph, region: set[str]) -> FrontEndPart:
    nodes = [n for n in graph.ordered if n.get_friendly_name() in region and n.get_type_name() not in _NOT_KEPT]
    layers = [n.get_friendly_name() for n in nodes if n.get_type_name() in LINEAR]
    return FrontEndPart(kind, anchor, tuple(n.get_friendly_name() for n in nodes), tuple(layers))


def _movement_consumers(node: ov.Node) -> list[ov.Node]:
    """The nodes ``node``'s values reach first that are not data movement or index arithmetic (shapes taken of
    them are not values: paths through ShapeOf are not followed)."""
    found: list[ov.Node] = []
    stack, seen = [node], set()
    while stack:
        for output in stack.pop().outputs():
            for target in output.get_target_inputs():
                child = target.get_node()
                if child.get_friendly_name() in seen or child.get_type_name() == "ShapeOf":
                    continue
                seen.add(child.get_friendly_name())
                (stack if child.get_type_name() in DATA_MOVEMENT | _SHAPES else found).append(child)
    return found


def _next_linear(graph: _Graph, region: set[str]) -> list[ov.Node]:
    """Weighted layers not in ``region`` all of whose non-constant inputs are in it."""
    return [n for n in graph.ordered if n.get_type_name() in LINEAR and n.get_friendly_name() not in region
            and graph.sources(n) and all(s.get_friendly_name() in region for s in graph.sources(n))]


def _spectral_region(graph: _Graph, ancestry: dict[str, ov.Node],
                     first_layer: bool) -> set[str]:
    """The front end around a Log: its ancestry, the normalisation after it, fixed linear transforms of the
    features (a DCT: a weighted layer that feeds only other weighted layers, through data movement), and with
    ``first_layer`` the weighted layers that read the result."""
    region = set(ancestry)
    while True:
        _extend_forward(graph, region, NORMALISATION)
        fixed = [n for n in _next_linear(graph, region)
                 if all(c.get_type_name() in LINEAR for c in _movement_consumers(n)) and _movement_consumers(n)]
        if not fixed:
            break
        region.update(n.get_friendly_name() for n in fixed)
    if first_layer:
        region.update(n.get_friendly_name() for n in _next_linear(graph, region))
    return region


def _spectral_front_ends(graph: _Graph, first_layer: bool) -> list[FrontEndPart]:
    parts: list[FrontEndPart] = []
    covered: set[str] = set()
    for node in graph.ordered:
        if node.get_type_name() != "Log" or node.get_friendly_name() in covered:
            continue
        ancestry = _ancestors(node)
        if not _is_spectral_log(ancestry):
            continue
        region = _spectral_region(graph, ancestry, first_layer)
        covered |= region
        parts.append(_part(SPECTRAL_FRONT_END, node.get_friendly_name(), graph, region))
    return parts


def _is_waveform(parameter: ov.Node) -> bool:
    """A float model input shaped ``[batch, samples]`` or ``[batch, 1, samples]`` (samples dynamic or long)."""
    output = parameter.output(0)
    shape = output.get_partial_shape()
    if not output.get_element_type().is_real() or shape.rank.is_dynamic:
        return False
    rank = shape.rank.get_length()
    if rank not in (2, 3) or (rank == 3 and not (shape[1].is_static and shape[1].get_length() == 1)):
        return False
    samples = shape[rank - 1]
    return cast(bool, samples.is_dynamic or samples.get_length() >= MIN_WAVEFORM_SAMPLES)


def _waveform_convolutions(graph: _Graph, count: int) -> list[FrontEndPart]:
    parts = []
    for parameter in (n for n in graph.ordered if n.get_type_name() == "Parameter" and _is_waveform(n)):
        derived, convolutions = {parameter.get_friendly_name()}, 0
        for node in graph.ordered:
            sources = graph.sources(node)
            if not sources or not all(s.get_friendly_name() in derived for s in sources):
                continue
            kind = node.get_type_name()
            if kind in CONVOLUTIONS and convolutions < count:
                convolutions += 1
                derived.add(node.get_friendly_name())
            elif kind in ENCODER_GLUE:
                derived.add(node.get_friendly_name())
        if convolutions:
            parts.append(_part(WAVEFORM_CONVOLUTIONS, parameter.get_friendly_name(), graph, derived))
    return parts


def _is_depthwise(node: ov.Node) -> bool:
    """A GroupConvolution with one input channel per group (weights ``[groups, out/groups, 1, kernel...]``)."""
    if node.get_type_name() != "GroupConvolution":
        return False
    weights = node.input(1).get_partial_shape()
    return cast(bool, weights.rank.is_static and weights.rank.get_length() >= 3 and weights[0].is_static
                and weights[0].get_length() > 1 and weights[2].is_static and weights[2].get_length() == 1)


def _depthwise_convolutions(graph: _Graph) -> list[FrontEndPart]:
    names = [n.get_friendly_name() for n in graph.ordered if _is_depthwise(n)]
    return [FrontEndPart(DEPTHWISE_CONVOLUTIONS, names[0], tuple(names), tuple(names))] if names else []


def find_fp32_front_end(model: ov.Model, waveform_convolutions: int = DEFAULT_FRONT_END_WAVEFORM_CONVOLUTIONS,
                        first_layer: bool = True, front_end: bool = True, depthwise: bool = True) -> list[FrontEndPart]:
    """The subgraphs of ``model`` that INT8 is known to break (see the module docstring); ``model`` is unchanged.

    Args:
        model: an FP32 model (best after :func:`~speechq.algorithms.graph.prepare_for_quantization`, so that names
            match what NNCF sees).
        waveform_convolutions: how many convolutions on a raw-waveform input to keep (0: none).
        first_layer: also keep the weighted layers that read a spectral front end's features.
        front_end: look for spectral front ends and waveform convolutions.
        depthwise: look for depthwise convolutions.

    Returns:
        The spectral front ends first, then the waveform convolutions, then the depthwise convolutions (one part);
        empty when the model has none of them (a model reading precomputed features, a recurrent model, ...).
    """
    graph = _Graph.of(model)
    parts = []
    if front_end:
        parts += _spectral_front_ends(graph, first_layer)
        if waveform_convolutions > 0:
            parts += _waveform_convolutions(graph, waveform_convolutions)
    if depthwise:
        parts += _depthwise_convolutions(graph)
    return parts


def front_end_names(parts: Iterable[FrontEndPart]) -> list[str]:
    """Every node name of ``parts``, each once, in order."""
    names: dict[str, None] = {}
    for part in parts:
        names.update(dict.fromkeys(part.nodes))
    return list(names)
