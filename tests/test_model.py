import os
from pathlib import Path

import numpy as np
import pytest

import speechq as sq
from speechq.model import get_core


def _outputs(model: sq.CompressedModel, x: np.ndarray) -> np.ndarray:
    compiled = get_core().compile_model(model.model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(row[np.newaxis])[0] for row in x])


def test_save_load_round_trip_gives_identical_outputs(tmp_path, mlp_int8, mlp_data):
    paths = sq.save_model(mlp_int8, tmp_path / "out", model_name="q")
    assert paths == [{"name": "tiny_mlp", "model": str(tmp_path / "out" / "q.xml"), "weights": str(tmp_path / "out" / "q.bin")}]
    loaded = sq.load_model({"model_name": "q", "model": paths[0]["model"], "weights": paths[0]["weights"]})
    x = mlp_data[0][:5]
    np.testing.assert_array_equal(_outputs(loaded, x), _outputs(mlp_int8, x))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["q.bin", "q.xml"]  # no staging left


def test_load_model_accepts_a_path(tmp_path, mlp):
    sq.save_model(mlp, tmp_path, model_name="m")
    assert sq.load_model(tmp_path / "m.xml").model.inputs[0].get_any_name() == "x"


def test_compress_model_weights_shrinks_bin_and_keeps_outputs(tmp_path, mlp, mlp_data):
    from speechq.algorithms.default.nncf_backend import quantize_with_nncf
    from speechq.algorithms.params import QuantizationParams

    x = mlp_data[0]
    calibration = [{"x": x[i : i + 1]} for i in range(20)]
    fq = sq.CompressedModel.from_ov(quantize_with_nncf(mlp.model, calibration, QuantizationParams(), compress_weights=False), "m")
    fp32_bin = Path(sq.save_model(mlp, tmp_path / "fp32")[0]["weights"]).stat().st_size
    before = _outputs(fq, x[:8])
    sq.compress_model_weights(fq)
    after = _outputs(fq, x[:8])
    int8_bin = Path(sq.save_model(fq, tmp_path / "int8")[0]["weights"]).stat().st_size
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert int8_bin < fp32_bin / 3, (int8_bin, fp32_bin)
    types = {op.get_element_type().get_type_name() for op in fq.model.get_ops() if op.get_type_name() == "Constant"}
    assert "i8" in types


def test_save_refuses_to_overwrite_when_asked_and_keeps_existing(tmp_path, mlp):
    sq.save_model(mlp, tmp_path, model_name="m")
    before = (tmp_path / "m.bin").read_bytes()
    with pytest.raises(sq.OutputError, match="m.xml already exists"):
        sq.save_model(mlp, tmp_path, model_name="m", overwrite=False)
    assert (tmp_path / "m.bin").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.xml"]


def test_save_into_unwritable_place_names_it(tmp_path, mlp):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(sq.OutputError, match="file"):
        sq.save_model(mlp, blocker / "sub")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_save_into_read_only_folder(tmp_path, mlp):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(sq.OutputError, match="not writable"):
            sq.save_model(mlp, tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_load_errors_name_the_file(tmp_path, mlp):
    with pytest.raises(sq.ModelError, match="model file not found: .*nope.xml"):
        sq.load_model({"model": str(tmp_path / "nope.xml")})
    sq.save_model(mlp, tmp_path, model_name="m")
    (tmp_path / "m.bin").unlink()
    with pytest.raises(sq.ModelError, match=r"weights file not found: .*m\.bin"):
        sq.load_model({"model": str(tmp_path / "m.xml")})
    bad = tmp_path / "bad.xml"
    bad.write_text("<html>not an IR</html>")
    (tmp_path / "bad.bin").write_bytes(b"")
    with pytest.raises(sq.ModelError, match="bad.xml: cannot be read as a model"):
        sq.load_model(bad)
    onnx = tmp_path / "broken.onnx"
    onnx.write_bytes(b"\x08\x07garbage")
    with pytest.raises(sq.ModelError, match="broken.onnx: cannot be read as a model"):
        sq.load_model(onnx)
    with pytest.raises(sq.ModelError, match="expected an OpenVINO IR"):
        sq.load_model(bad.with_suffix(".bin"))


def test_cascade_is_loaded_and_saved_per_part(tmp_path, mlp):
    sq.save_model(mlp, tmp_path, model_name="a")
    sq.save_model(mlp, tmp_path, model_name="b")
    cascade = sq.load_model({"model_name": "c", "cascade": [{"name": "enc", "model": str(tmp_path / "a.xml")},
                                                            {"name": "dec", "model": str(tmp_path / "b.xml")}]})
    assert cascade.is_cascade and [p.name for p in cascade.models] == ["enc", "dec"]
    assert cascade.models[0]["name"] == "enc"
    written = sq.save_model(cascade, tmp_path / "out", model_name="c")
    assert [Path(w["model"]).name for w in written] == ["c_enc.xml", "c_dec.xml"]
    with pytest.raises(sq.ModelError, match="cascade"):
        cascade.model


def _companions(tmp_path: Path) -> list[tuple[Path, str]]:
    source = tmp_path / "fp32"
    (source / "language_model").mkdir(parents=True)
    (source / "vocab.json").write_text('{"a": 0}')
    (source / "language_model" / "attrs.json").write_text('{"alpha": 0.5}')
    (source / "language_model" / "lm.arpa").write_text("\\data\\\n")
    return [(source / "vocab.json", ""), (source / "language_model" / "attrs.json", "language_model"),
            (source / "language_model" / "lm.arpa", "language_model")]


def test_companion_files_are_copied_beside_the_model(tmp_path):
    from speechq.model import check_companion_files, save_companion_files

    files, out = _companions(tmp_path), tmp_path / "out"
    out.mkdir()
    check_companion_files(files, out, overwrite=False)
    written = save_companion_files(files, out)
    assert written == [out / "vocab.json", out / "language_model" / "attrs.json", out / "language_model" / "lm.arpa"]
    assert all(copy.read_bytes() == source.read_bytes() for copy, (source, _) in zip(written, files))
    check_companion_files(files, out, overwrite=False)  # the same files again: nothing to refuse
    assert sorted(p.name for p in out.rglob("*")) == ["attrs.json", "language_model", "lm.arpa", "vocab.json"]


def test_companion_files_never_mix_with_other_files_unless_overwrite(tmp_path):
    from speechq.model import check_companion_files, save_companion_files

    files, out = _companions(tmp_path), tmp_path / "out"
    (out / "language_model").mkdir(parents=True)
    (out / "language_model" / "old.bin").write_bytes(b"another LM")
    with pytest.raises(sq.OutputError, match=r"language_model already holds other files \(old.bin\)"):
        check_companion_files(files, out, overwrite=False)
    (out / "vocab.json").write_text('{"b": 0}')
    with pytest.raises(sq.OutputError, match=r"vocab.json already exists and differs"):
        check_companion_files(files, out, overwrite=False)
    assert (out / "language_model" / "old.bin").read_bytes() == b"another LM"  # refusals touch nothing
    check_companion_files(files, out, overwrite=True)
    save_companion_files(files, out)
    assert sorted(p.name for p in (out / "language_model").iterdir()) == ["attrs.json", "lm.arpa"]  # one LM only
    assert (out / "vocab.json").read_text() == '{"a": 0}'
