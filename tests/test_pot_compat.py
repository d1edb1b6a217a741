"""POT's own API examples run unchanged (but for imports) on speechq."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import speechq as sq
from speechq.algorithms.accuracy_aware import quantized_layers

SCRIPTS = Path(__file__).parent / "pot_scripts"


def _run_script(name: str, tmp_path: Path, mlp, x: np.ndarray, labels: list[int]) -> subprocess.CompletedProcess:
    sq.save_model(mlp, tmp_path / "model", model_name="model")
    data = tmp_path / "data"
    data.mkdir()
    for i, (row, label) in enumerate(zip(x, labels)):
        np.save(data / f"{label}_{i:03d}.npy", row[np.newaxis])
    env = dict(os.environ, MODEL_PATH=str(tmp_path / "model" / "model.xml"), DATASET_PATH=str(data),
               OUTPUT_PATH=str(tmp_path / "out"))
    return subprocess.run([sys.executable, str(SCRIPTS / name)], env=env, capture_output=True, text=True, timeout=300)


def test_imports_are_the_only_change():
    for script in SCRIPTS.glob("*.py"):
        text = script.read_text()
        assert "from speechq import" in text and "# POT: from openvino.tools.pot import" in text


def test_default_quantization_example_runs(tmp_path, mlp, mlp_data):
    done = _run_script("default_quantization.py", tmp_path, mlp, *mlp_data)
    assert done.returncode == 0, done.stderr
    saved = sq.load_model(done.stdout.strip().splitlines()[-1])
    assert {layer.name for layer in quantized_layers(saved.model)} == {"fc1", "fc2"}


def test_accuracy_aware_example_with_custom_metric_runs(tmp_path, mlp, mlp_data):
    done = _run_script("accuracy_aware_quantization.py", tmp_path, mlp, *mlp_data)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    accuracy = float(next(line for line in lines if line.startswith("accuracy@top1:")).split(":")[1])
    assert accuracy >= 0.99
    saved = sq.load_model(lines[-1])
    assert len(quantized_layers(saved.model)) < 2  # at least one layer went back to FP32
