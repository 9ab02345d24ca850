"""The house rules of docs/architecture.md and ../shared/design.md, checked on every module's imports (function-level lazy ones too).

Layers run down: ground (units, errors, domain) → cost | accuracy (siblings that never meet) → files →
use cases (scenarios, inventory, optimizer, capacity) → report → cli. No exceptions are listed here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "planner"

LAYERS = {"ground": 0, "cost": 1, "accuracy": 1, "files": 2, "usecase": 3, "report": 4, "api": 4, "cli": 5}
USE_CASES = ("scenarios", "inventory", "optimizer", "capacity")
# third-party or stdlib module -> the only layers (or module prefixes) allowed to import it
RESTRICTED = {
    "yaml": ("planner.files",),
    "csv": ("planner.files",),
    "tempfile": ("planner.files",),
    "scipy": ("planner.accuracy",),
    "typer": ("planner.cli",),
    "rich": ("planner.report", "planner.cli"),
    "matplotlib": ("planner.report.plot",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"  # planner/__init__.py: the library API (recommend, frontier); nothing imports it
    if parts[1] in ("units", "errors", "domain", "version"):
        return "ground"
    if parts[1] == "__main__":
        return "cli"
    if parts[1] in USE_CASES:
        return "usecase"
    return parts[1]


def test_nothing_imports_the_api_package():
    for module, path in MODULES.items():
        for target, line, _ in imports(path):
            assert target != "planner", f"{path.relative_to(PACKAGE.parent)}:{line}: import from planner.<module>, not the API package"


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_profiles" not in p.parts}


def imports(path: Path) -> list[tuple[str, int, list[str]]]:
    """(imported module, line, names) for every import statement anywhere in the file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{base}.{n}" in MODULES]
            # `from planner.cli import estimate` imports the submodule planner.cli.estimate (the package __init__
            # only as a container); anything else imports names from ``base`` itself.
            if len(submodules) < len(names):
                found.append((base, node.lineno, [n for n in names if n not in submodules]))
            found += [(f"{base}.{n}", node.lineno, []) for n in submodules]
    return found


def test_every_module_is_in_a_known_layer():
    assert MODULES
    for module in MODULES:
        assert layer(module) in LAYERS, f"{module}: not in any layer of the house; see tests/test_architecture.py"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_and_restricted_libraries_stay_home(module):
    here = layer(module)
    problems = []
    for target, line, names in imports(MODULES[module]):
        top = target.split(".")[0]
        where = f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}"
        if top == "planner" and target in MODULES:
            there = layer(target)
            if LAYERS[there] > LAYERS[here]:
                problems.append(f"{where}: {here} imports {target} ({there}): imports must run down")
            if {here, there} == {"cost", "accuracy"}:
                problems.append(f"{where}: cost and accuracy are siblings and never import each other ({target})")
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private and target != module:
                problems.append(f"{where}: imports private {', '.join(private)} from {target}")
        if top in RESTRICTED and not any(module == p or module.startswith(p + ".") for p in RESTRICTED[top]):
            problems.append(f"{where}: {top} may only be imported in {', '.join(RESTRICTED[top])}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_cli_reads_the_environment(module):
    if layer(module) == "cli":
        return
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and getattr(node.value, "id", None) == "os":
            pytest.fail(f"{module}:{node.lineno}: reads os.{node.attr}; only cli/ reads the environment")
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in ("environ", "getenv") for a in node.names):
            pytest.fail(f"{module}:{node.lineno}: imports os.environ; only cli/ reads the environment")


def test_no_import_cycles_between_files():
    graph = {m: sorted({t for t, _, _ in imports(p) if t in MODULES and t != m}) for m, p in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_help_imports_neither_numpy_nor_scipy():
    code = ("import sys\nfrom planner.cli.app import main\nsys.argv = ['planner', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=PACKAGE.parent, env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
