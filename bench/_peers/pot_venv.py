"""POT's own virtual environment: openvino-dev 2023.3 (the last POT) needs openvino 2023.3 and Python 3.11 or older.

Created only when asked (``bench_peers.py --with-pot``) with pinned packages; reused when it already imports
``openvino.tools.pot``. Without it the POT contender is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# scipy < 1.11: POT's fast bias correction indexes scipy.stats.mode's result as scipy 1.10 returned it
POT_PACKAGES = ("openvino-dev==2023.3.0", "openvino==2023.3.0", "numpy==1.26.4", "scipy==1.10.1",
                "opencv-python==4.11.0.86", "networkx==3.1")
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "speechq-bench" / "pot-venv"
CANDIDATES = ("python3.11", "python3.10", "python3.9", "python3.8")


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _stamp(venv: Path) -> Path:
    return venv / "speechq-bench-packages.txt"


def pot_works(venv: Path) -> bool:
    """POT imports in ``venv``, installed with today's ``POT_PACKAGES``."""
    python = venv_python(venv)
    if not python.is_file() or not _stamp(venv).is_file() or _stamp(venv).read_text().split() != list(POT_PACKAGES):
        return False
    check = subprocess.run([str(python), "-c", "import openvino.tools.pot"], capture_output=True)
    return check.returncode == 0


def old_enough_python() -> str | None:
    """A Python 3.8-3.11 interpreter: this one if it is, else the first on PATH."""
    if (3, 8) <= sys.version_info[:2] <= (3, 11):
        return sys.executable
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_pot_venv(venv: Path, create: bool) -> tuple[Path | None, str]:
    """``(python of the POT venv, "")`` when POT runs, else ``(None, why not)``; creates the venv if ``create``."""
    if pot_works(venv):
        return venv_python(venv), ""
    if not create:
        return None, (f"POT needs its own virtual environment (openvino-dev 2023.3, Python <= 3.11); run with "
                      f"--with-pot to create it in {venv}")
    interpreter = old_enough_python()
    if interpreter is None:
        return None, "POT needs Python 3.8-3.11 (openvino-dev 2023.3); none found on PATH"
    steps = [[interpreter, "-m", "venv", "--clear", str(venv)],  # a clean slate: no stale packages
             [str(venv_python(venv)), "-m", "pip", "install", "-q", *POT_PACKAGES]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = " / ".join(done.stderr.strip().splitlines()[-2:])
            return None, f"creating POT's venv failed ({' '.join(step[:4])} ...): {tail}"
    _stamp(venv).write_text("\n".join(POT_PACKAGES) + "\n")
    if not pot_works(venv):
        return None, f"{venv}: openvino.tools.pot does not import after installation"
    return venv_python(venv), ""
