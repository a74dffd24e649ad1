"""Test modules never import each other: what they share lives in tests/builders.py (or conftest's fixtures)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TEST_MODULES = {p.stem for p in TESTS.glob("*.py") if p.stem.startswith("test_") or p.stem == "conftest"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (inside functions too), without the dots of relative imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.add(base)
            if node.level or base == "tests":  # `from . import test_x`, `from tests import test_x`
                names.update(f"{base}.{alias.name}".lstrip(".") for alias in node.names)
    return names


def imports_a_test_module(name: str) -> bool:
    """Whether an imported name is a test module or conftest (plain, or as ``tests.<name>``)."""
    parts = name.split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    return bool(parts) and parts[0] in TEST_MODULES


def test_no_test_module_imports_another():
    found = {
        f"{path.name} imports {name}"
        for path in sorted(TESTS.glob("*.py"))
        for name in imported_modules(path)
        if imports_a_test_module(name)
    }
    assert not found, "move what test modules share to tests/builders.py:\n" + "\n".join(sorted(found))


def test_the_check_sees_every_way_of_writing_it(tmp_path):
    source = tmp_path / "test_example.py"
    cases = {
        "from test_movement import logs": True,
        "import test_movement": True,
        "import conftest": True,
        "from tests.test_movement import logs": True,
        "from tests import test_movement": True,
        "from . import test_movement": True,
        "from .test_movement import logs": True,
        "def f():\n    from test_movement import logs": True,
        "from builders import log_from_rows": False,
        "from tests import builders": False,
        "import salesmetrics.log.prepare": False,
        "from hypothesis import strategies": False,
    }
    for code, expected in cases.items():
        source.write_text(code + "\n")
        assert any(imports_a_test_module(n) for n in imported_modules(source)) == expected, code
