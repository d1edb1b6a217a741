import numpy as np

from speechq.engines._state_pairs import find_streaming_layout
from speechq.zoo.architectures import DEEPSPEECH_STATE_C_OUTPUT, DEEPSPEECH_STATE_H_OUTPUT, deepspeech_graph, random_deepspeech_weights
from speechq.model import get_core


def test_deepspeech_graph_has_omz_interface_and_runs():
    model = deepspeech_graph(random_deepspeech_weights(hidden=32, seed=1))
    assert [(p.get_any_name(), list(p.get_shape())) for p in model.inputs] == [
        ("input_node", [1, 16, 19, 26]), ("previous_state_c", [1, 32]), ("previous_state_h", [1, 32])]
    assert {p.get_any_name() for p in model.outputs} == {"logits", DEEPSPEECH_STATE_C_OUTPUT, DEEPSPEECH_STATE_H_OUTPUT}
    assert dict(find_streaming_layout(model).state_map) == {DEEPSPEECH_STATE_C_OUTPUT: "previous_state_c",
                                                           DEEPSPEECH_STATE_H_OUTPUT: "previous_state_h"}
    compiled = get_core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    zeros = np.zeros((1, 32), np.float32)
    out = compiled({"input_node": np.ones((1, 16, 19, 26), np.float32), "previous_state_c": zeros, "previous_state_h": zeros})
    np.testing.assert_allclose(out["logits"].sum(axis=-1), 1.0, rtol=1e-5)
    assert np.abs(out[DEEPSPEECH_STATE_C_OUTPUT]).max() > 0
