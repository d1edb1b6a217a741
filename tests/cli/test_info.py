import json
import subprocess
import sys

import speechq as sq
from speechq.cli import main


def test_info_shows_state_pairs_and_runtime_precision(tmp_path, capsys, tiny_deepspeech, utterance_features):
    from speechq_testing import ArrayLoader

    sq.save_model(tiny_deepspeech, tmp_path, "fp32")
    engine = sq.engines.StreamingEngine({}, ArrayLoader(utterance_features, [0] * 6))
    int8 = sq.DefaultQuantization({"stat_subset_size": 6}, engine).run(tiny_deepspeech)
    sq.save_model(int8, tmp_path, "int8")
    assert main(["info", str(tmp_path / "fp32.xml"), "--json"]) == 0
    fp32 = json.loads(capsys.readouterr().out)
    assert fp32["state_pairs"]["cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/BlockLSTM/TensorIterator.2"] == "previous_state_c"
    assert {layer["precision"] for layer in fp32["layers"]} == {"f32"}
    assert main(["info", str(tmp_path / "int8.xml")]) == 0
    table = capsys.readouterr().out
    assert "| lstm | RNNSeq | u8 |" in table or "| lstm | RNNSeq | i8 |" in table


def test_cli_errors_are_one_line_and_exit_non_zero(tmp_path):
    done = subprocess.run([sys.executable, "-m", "speechq.cli", "info", str(tmp_path / "missing.xml")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"speechq info: error: model file not found: {tmp_path / 'missing.xml'}"]
