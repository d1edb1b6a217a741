"""The same model, data, config and seed give byte-identical .xml and .bin files, run after run.

Runs are separate processes, as users run them. (Within one process OpenVINO numbers the nodes it creates without a
name from a process-wide counter, so a second quantization in the same process writes the same weights but other
auto-generated node names in the .xml.)
"""

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

QUANTIZE = """
import sys
import numpy as np
sys.path.insert(0, {tests!r})
import speechq as sq
from speechq_testing import ArrayLoader, build_tiny_deepspeech

rng = np.random.default_rng(0)
utterances = [rng.normal(size=(int(n), 19, 26)).astype(np.float32) for n in rng.integers(20, 60, 8)]
model = sq.CompressedModel.from_ov(build_tiny_deepspeech(hidden=16), "tiny")
engine = sq.StreamingEngine({{}}, ArrayLoader(utterances, [None] * len(utterances)), None)
pipeline = sq.create_pipeline([{{"name": "{algorithm}", "params": {{"stat_subset_size": 8, "preset": "mixed"}}}}], engine)
int8 = pipeline.run(model)
sq.compress_model_weights(int8)
sq.save_model(int8, sys.argv[1], model_name="tiny")
"""


def _quantize(out: Path) -> tuple[bytes, bytes]:
    script = QUANTIZE.format(tests=str(TESTS), algorithm="DefaultQuantization")
    done = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return (out / "tiny.xml").read_bytes(), (out / "tiny.bin").read_bytes()


def test_two_runs_write_identical_bytes(tmp_path):
    first, second = _quantize(tmp_path / "a"), _quantize(tmp_path / "b")
    assert b"FakeQuantize" in first[0]  # a quantized model, not a copy of the input
    assert first == second
