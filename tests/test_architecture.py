"""Imports flow one way: leaves <- api; engines <- api, model; drift <- model; algorithms <- engines, drift; cli on top."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "speechq"

# what each part of the package may import from speechq (besides errors, constants, api, and itself)
ALLOWED = {
    "api": set(),
    "data": {"features"},
    "features": set(),
    "decoding": set(),
    "metrics": {"decoding"},
    "model": set(),
    "engines": {"model"},
    "drift": {"model"},
    "algorithms": {"model", "engines", "drift"},
    "benchmark": {"model", "drift"},
}
ALWAYS = {"errors", "constants", "api"}
LEAVES = {"api", "data", "features", "decoding", "metrics"}


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _speechq_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("speechq."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("speechq."))
    return found


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
    return found


def test_imports_flow_one_way():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        part = _part(path)
        if part not in ALLOWED:
            continue
        bad = _speechq_imports(path) - ALLOWED[part] - ALWAYS - {part}
        if bad:
            violations.append(f"{path.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert not violations, violations


def test_leaves_do_not_touch_openvino_or_nncf():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _part(path) in LEAVES and _third_party(path) & {"openvino", "nncf"}
    ]
    assert not offenders, offenders
