"""Which model inputs carry recurrent state, fed from which outputs, and which input takes the chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, cast

import openvino as ov
from openvino._offline_transformations import apply_moc_transformations

from speechq.errors import ModelError

__all__ = ["StreamingLayout", "find_streaming_layout"]

_PASS_THROUGH = frozenset({"Reshape", "Squeeze", "Unsqueeze", "Transpose", "Convert", "Identity", "FakeQuantize"})
_RECURRENT = frozenset({"LSTMSequence", "LSTMCell", "GRUSequence", "GRUCell", "RNNSequence", "RNNCell"})


@dataclass(frozen=True)
class StreamingLayout:
    """How to stream a recurrent model.

    Attributes:
        chunk_input: the input that takes one chunk of the utterance.
        state_map: state output name -> state input name (the output of chunk k feeds the input at chunk k+1).
        outputs: the remaining (non-state) outputs, joined over chunks.
    """

    chunk_input: str
    state_map: Mapping[str, str]
    outputs: tuple[str, ...]


def _describe(model: ov.Model) -> str:
    inputs = ", ".join(f"{p.get_any_name()} {p.get_partial_shape()}" for p in model.inputs)
    outputs = ", ".join(f"{p.get_any_name()} {p.get_partial_shape()}" for p in model.outputs)
    return f"inputs: {inputs}; outputs: {outputs}"


def _recurrent_input_port(parameter: ov.Node) -> tuple[str, int] | None:
    """(recurrent node, input port) that a state Parameter reaches through shape-only ops."""
    frontier = [parameter]
    while frontier:
        node = frontier.pop()
        for output in node.outputs():
            for target in output.get_target_inputs():
                child = target.get_node()
                if child.get_type_name() in _RECURRENT:
                    return child.get_friendly_name(), target.get_index()
                if child.get_type_name() in _PASS_THROUGH:
                    frontier.append(child)
    return None


def _recurrent_output_port(result: ov.Node) -> tuple[str, int] | None:
    """(recurrent node, output port) that a Result comes from through shape-only ops."""
    source = result.input_value(0)
    while source.get_node().get_type_name() in _PASS_THROUGH:
        source = source.get_node().input_value(0)
    if source.get_node().get_type_name() in _RECURRENT:
        return source.get_node().get_friendly_name(), source.get_index()
    return None


def _by_graph(model: ov.Model, output: ov.Output, candidates: list[str]) -> list[str]:
    """Candidates whose recurrent input port matches the output's recurrent port (H <-> H, C <-> C)."""
    result = next(r for r in model.get_results() if output.get_any_name() in r.output(0).get_names())
    source = _recurrent_output_port(result)
    if source is None:
        return candidates
    parameters = {p.get_output_tensor(0).get_any_name(): p for p in model.get_parameters()}
    # LSTMSequence/LSTMCell: output 1 = H, 2 = C; inputs 1 = initial H, 2 = initial C. Sequence outputs 1/2
    # and Cell outputs 0/1 differ: align by "H is the first state port, C the second".
    kind = model_node_type(model, source[0])
    state_index = source[1] - (1 if kind.endswith("Sequence") else 0)
    matched = []
    for name in candidates:
        target = _recurrent_input_port(parameters[name])
        if target is not None and target[0] == source[0] and target[1] - 1 == state_index:
            matched.append(name)
    return matched or candidates


def _sequence_view(model: ov.Model) -> ov.Model:
    """``model``, or a copy whose TensorIterator/Loop-wrapped cells are sequence ops (so their ports can be traced).

    Inputs and outputs keep their names through OpenVINO's MOC transformations.
    """
    if not any(op.get_type_name() in ("TensorIterator", "Loop") for op in model.get_ordered_ops()):
        return model
    view = model.clone()
    apply_moc_transformations(view, cf=True)
    return view


def model_node_type(model: ov.Model, name: str) -> str:
    return cast(str, next(op.get_type_name() for op in model.get_ordered_ops() if op.get_friendly_name() == name))


def _by_name(output_name: str, candidates: list[str]) -> list[str]:
    """Candidates that share a state letter/word with the output name (c/cell, h/hidden) in their last path part."""
    def kind(name: str) -> set[str]:
        tokens = set(re.split(r"[^a-z]+", name.lower().rsplit("/", 1)[-1]))
        kinds = set()
        if tokens & {"c", "cell"}:
            kinds.add("c")
        if tokens & {"h", "hidden"}:
            kinds.add("h")
        return kinds

    wanted = kind(output_name)
    matched = [c for c in candidates if wanted and kind(c) == wanted]
    return matched or candidates


def _check_explicit(model: ov.Model, state_map: Mapping[str, str]) -> None:
    outputs = {p.get_any_name(): p for p in model.outputs}
    inputs = {p.get_any_name(): p for p in model.inputs}
    for out_name, in_name in state_map.items():
        if out_name not in outputs:
            raise ModelError(f"state_map: {out_name!r} is not an output of the model ({_describe(model)})")
        if in_name not in inputs:
            raise ModelError(f"state_map: {in_name!r} is not an input of the model ({_describe(model)})")
        if not outputs[out_name].get_partial_shape().compatible(inputs[in_name].get_partial_shape()):
            raise ModelError(
                f"state_map: output {out_name!r} {outputs[out_name].get_partial_shape()} cannot feed input "
                f"{in_name!r} {inputs[in_name].get_partial_shape()}"
            )


def find_streaming_layout(
    model: ov.Model, state_map: Mapping[str, str] | None = None, chunk_input: str | None = None
) -> StreamingLayout:
    """Pair state outputs with state inputs, and find the chunk input.

    Without ``state_map``, an output feeds the input of the same static shape; where several inputs share a
    shape (LSTM's c and h), the graph decides (which LSTM port each comes from and goes to), then the names
    (c/cell vs h/hidden). Native stateful models (ReadValue/Assign) have no state inputs.

    Raises:
        ModelError: the pairing is ambiguous or impossible, or no single chunk input remains; the message lists
            the model's inputs and outputs and asks for ``state_map``.
    """
    inputs = [p.get_any_name() for p in model.inputs]
    if state_map is not None:
        _check_explicit(model, state_map)
        pairs = dict(state_map)
    else:
        graph = _sequence_view(model)
        pairs = {}
        shapes = {p.get_any_name(): p.get_partial_shape() for p in model.inputs}
        for output in model.outputs:
            shape = output.get_partial_shape()
            if shape.is_dynamic:
                continue
            candidates = [n for n in inputs if n != chunk_input and shapes[n].is_static and shapes[n] == shape]
            if len(candidates) > 1:
                candidates = _by_graph(graph, output, candidates)
            if len(candidates) > 1:
                candidates = _by_name(output.get_any_name(), candidates)
            if len(candidates) > 1:
                raise ModelError(
                    f"cannot tell which of the inputs {candidates} output {output.get_any_name()!r} feeds; "
                    f"give state_map={{output: input}} ({_describe(model)})"
                )
            if candidates:
                pairs[output.get_any_name()] = candidates[0]
        if len(set(pairs.values())) != len(pairs):
            raise ModelError(f"several outputs would feed the same state input {pairs}; give state_map ({_describe(model)})")
    remaining = [n for n in inputs if n not in pairs.values()]
    if chunk_input is None:
        if len(remaining) != 1:
            raise ModelError(
                f"expected one chunk input besides the state inputs {sorted(pairs.values())}, found {remaining}; "
                f"give chunk_input and/or state_map ({_describe(model)})"
            )
        chunk_input = remaining[0]
    elif chunk_input not in inputs:
        raise ModelError(f"chunk_input {chunk_input!r} is not an input of the model ({_describe(model)})")
    unfed = [n for n in remaining if n != chunk_input]
    if unfed:
        raise ModelError(f"inputs {unfed} are neither the chunk input nor fed by a state output; give state_map ({_describe(model)})")
    outputs = tuple(p.get_any_name() for p in model.outputs if p.get_any_name() not in pairs)
    return StreamingLayout(chunk_input=chunk_input, state_map=pairs, outputs=outputs)
