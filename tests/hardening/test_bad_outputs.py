"""Bad output locations and interrupted runs, one row per case: an OutputError (API) or one error line (CLI)
naming the folder or file; exit code 130 after Ctrl-C or SIGTERM; never a partially written model on disk.

Real file systems where the sandbox allows it: a small tmpfs for "disk full" and a read-only tmpfs for "not
writable" (mount needs root: those rows skip elsewhere). RLIMIT_FSIZE makes writes fail with EFBIG for real in a
child process and runs everywhere. Interruption during saving is timed with strace, which delays the rename
syscalls by a second so that the signal lands while the files are being moved into place (skips without strace).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

import pytest
from _cases import assert_cli_error, last_line, make_corpus, model_leftovers, run_cli
from speechq_testing import build_mlp

import speechq as sq
from speechq.errors import OutputError
from speechq.workflows import quantize_and_compare
from speechq.zoo import get_recipe

SPEC = get_recipe("deepspeech")


@pytest.fixture(scope="module")
def big_mlp() -> sq.CompressedModel:
    """An MLP whose .bin is about 1 MB (larger than the small file systems below)."""
    return sq.CompressedModel.from_ov(build_mlp(inputs=256, hidden=1024), "big_mlp")


def _mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 16 KiB tmpfs: room for the output folder, not for a model."""
    folder = tmp_path / "small"
    _mount_tmpfs(folder, "size=16k")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only_fs(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs (root ignores permission bits, not a read-only mount)."""
    folder = tmp_path / "ro"
    _mount_tmpfs(folder, "ro,size=16k")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def _no_files_at_all(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ------------------------------------------------------------------------------------- not writable
def test_output_below_a_file(tmp_path: Path, big_mlp: sq.CompressedModel) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OutputError, match=f"output folder {blocker / 'out'} cannot be created: Not a directory"):
        sq.save_model(big_mlp, blocker / "out")


def test_output_folder_on_a_read_only_file_system(read_only_fs: Path, big_mlp: sq.CompressedModel) -> None:
    with pytest.raises(OutputError, match=f"output folder {read_only_fs} is not writable"):
        sq.save_model(big_mlp, read_only_fs)
    with pytest.raises(OutputError, match=f"output folder {read_only_fs / 'sub'} cannot be created: Read-only file system"):
        sq.save_model(big_mlp, read_only_fs / "sub")


def test_cli_output_folder_on_a_read_only_file_system(read_only_fs: Path, tiny_ir: Path, corpus: Path) -> None:
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", read_only_fs, "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", f"output folder {read_only_fs} is not writable")


def test_cli_output_below_a_file_and_report_below_a_file(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", blocker / "out", "--no-progress")
    assert_cli_error(done, "quantize", f"output folder {blocker / 'out'} cannot be created")
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", tmp_path / "out", "--report", blocker / "r", "--no-progress")
    assert_cli_error(done, "quantize", f"output folder {blocker / 'r'} cannot be created")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------- already present
def test_existing_model_is_refused_and_kept(tmp_path: Path, big_mlp: sq.CompressedModel, tiny_ir: Path, corpus: Path) -> None:
    sq.save_model(big_mlp, tmp_path, model_name="model")
    before = (tmp_path / "model.bin").read_bytes()
    with pytest.raises(OutputError, match=f"{tmp_path / 'model.xml'} already exists; refusing to overwrite"):
        sq.save_model(big_mlp, tmp_path, model_name="model", overwrite=False)
    with pytest.raises(OutputError, match=f"{tmp_path / 'model.xml'} already exists"):  # before any work
        quantize_and_compare(SPEC, tiny_ir, corpus, tmp_path, params={"stat_subset_size": 2})
    (tmp_path / "model.xml").unlink()  # a lone .bin is refused too
    with pytest.raises(OutputError, match="model.xml already exists"):
        sq.save_model(big_mlp, tmp_path, model_name="model", overwrite=False)
    assert (tmp_path / "model.bin").read_bytes() == before
    sq.save_model(big_mlp, tmp_path, model_name="model", overwrite=True)
    assert model_leftovers(tmp_path) == ["model.bin", "model.xml"]


def test_cli_existing_model_is_refused_unless_overwrite(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(tiny_ir, out / "model.xml")
    shutil.copy(tiny_ir.with_suffix(".bin"), out / "model.bin")
    before = (out / "model.bin").read_bytes()
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", out, "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", f"{out / 'model.xml'} already exists; refusing to overwrite it")
    assert (out / "model.bin").read_bytes() == before
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", out, "--subset-size", "2", "--no-progress", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (out / "model.bin").read_bytes() != before and model_leftovers(out) == ["model.bin", "model.xml"]


# ------------------------------------------------------------------------------------------ disk full
def test_disk_full_on_a_small_file_system(small_fs: Path, big_mlp: sq.CompressedModel) -> None:
    with pytest.raises(OutputError, match=f"cannot write model to {small_fs}: .* \\(0.0 MB free on its file system\\)"):
        sq.save_model(big_mlp, small_fs, model_name="model")
    assert _no_files_at_all(small_fs) == []


def test_cli_disk_full_on_a_small_file_system(small_fs: Path, tiny_ir: Path, corpus: Path) -> None:
    done = run_cli("quantize", "-m", tiny_ir, "-d", corpus, "-o", small_fs, "--subset-size", "2", "--no-progress")
    assert_cli_error(done, "quantize", f"cannot write model to {small_fs}: ", "(0.0 MB free on its file system)")
    assert _no_files_at_all(small_fs) == []


def _limit_file_size(limit: int) -> None:
    """In the child: files larger than ``limit`` bytes fail with EFBIG (SIGXFSZ ignored, so writes just fail)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_file_size_limit_while_saving(tmp_path: Path) -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); import speechq as sq; from speechq_testing import build_mlp\n"
        "try:\n"
        "    sq.save_model(sq.CompressedModel.from_ov(build_mlp(inputs=256, hidden=1024), 'm'), sys.argv[1])\n"
        "except sq.OutputError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    tests = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out"), str(tests)], capture_output=True,
                          text=True, timeout=60, preexec_fn=lambda: _limit_file_size(64 * 1024))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OutputError cannot write model to {tmp_path / 'out'}: "), done.stdout
    assert _no_files_at_all(tmp_path / "out") == []


def test_cli_file_size_limit_while_saving(tmp_path: Path, tiny_ir: Path, corpus: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "speechq.cli", "quantize", "-m", str(tiny_ir), "-d", str(corpus), "-o", str(out),
         "--subset-size", "2", "--no-progress"],
        capture_output=True, text=True, timeout=120, preexec_fn=lambda: _limit_file_size(16 * 1024))
    assert_cli_error(done, "quantize", f"cannot write model to {out}: ")
    assert _no_files_at_all(out) == []


# -------------------------------------------------------------------------------------- interruption
@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve three-second utterances: a quantization long enough to interrupt."""
    texts = {f"1-10-{i:04d}": "hello world" for i in range(12)}
    return make_corpus(tmp_path_factory.mktemp("big_corpus"), texts, seconds=3.0)


def _quantize_process(tiny_ir: Path, corpus: Path, out: Path, prefix: Sequence[str] = ()) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "speechq.cli", "quantize", "-m", str(tiny_ir), "-d", str(corpus), "-o", str(out),
         "--no-progress", "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_as_from_a_terminal)


def _as_from_a_terminal() -> None:
    """SIGINT as a command started from a terminal has it. A shell script's background job (a CI runner's, say)
    inherits SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_line(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> list[str]:
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return seen
    process.kill()
    raise AssertionError(f"{marker!r} never came: {''.join(seen)[-2000:]}")


def _assert_interrupted(process: subprocess.Popen[str], before: list[str], out: Path) -> None:
    _, rest = process.communicate(timeout=60)
    stderr = "".join(before) + rest
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert last_line(stderr) == "speechq quantize: interrupted; no partial model was written"
    assert model_leftovers(out) == [] and _no_files_at_all(out) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_during_quantization(tmp_path: Path, tiny_ir: Path, big_corpus: Path, signum: int) -> None:
    out = tmp_path / "out"
    process = _quantize_process(tiny_ir, big_corpus, out)
    seen = _wait_for_line(process, "running DefaultQuantization")
    process.send_signal(signum)
    _assert_interrupted(process, seen, out)


def _strace_works() -> bool:
    """strace is installed and may trace here (containers often forbid ptrace)."""
    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-qq", "-o", os.devnull, "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _strace_works(), reason="strace (able to trace) sends the signal during saving")
@pytest.mark.parametrize("signum", [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGTERM],
                         ids=["ctrl-c", "sigterm"])
def test_interrupted_during_saving(tmp_path: Path, tiny_ir: Path, corpus: Path, signum: int) -> None:
    """strace sends the signal as the first rename of the run starts (moving the .bin into place; the model's
    files are the first speechq renames): it lands after the .bin is there and before the .xml is, whatever the
    machine's load; nothing of the model may stay."""
    out = tmp_path / "out"
    renames = "rename,renameat,renameat2"
    trace = tmp_path / "strace.txt"
    name = signal.Signals(signum).name
    strace = ["strace", "-qq", "-o", str(trace), f"--trace={renames}", f"--inject={renames}:signal={name}:when=1"]
    process = _quantize_process(tiny_ir, corpus, out, prefix=strace)
    _assert_interrupted(process, [], out)
    calls = trace.read_text()
    assert re.search(rf"rename\S*\(.*\.speechq-save-\w+/model\.bin.* = 0\n--- {name} ", calls), calls  # bin moved, signal
