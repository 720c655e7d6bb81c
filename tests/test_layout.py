"""The code's shape, checked so it stays true: no import cycle among the project's
modules (imports inside functions count, `if TYPE_CHECKING:` blocks do not), no
import from a folder to one above it (LAYERS), and no module or function past the
size a reader can hold at once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ml", "jobs", "summarizer_project", "devstack", "bench")
MAX_MODULE_LINES = 500  # issue #25: a limit that flags sprawl, not one that decides splits
MAX_FUNCTION_LINES = 60


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """The project modules `path` imports: `from a.b import c` is a.b.c when that is
    a module of ours, else a.b (a parent package counts only for the names it defines
    itself, as for `import a.b.c`); relative imports are resolved against the package."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            targets = [m if m in known else base for m in submodules]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = list(source_files())
    known = {module_name(path) for path in files}
    return {module_name(path): imported_modules(path, known) for path in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_reads_function_local_and_relative_imports(tmp_path):
    pkg = tmp_path / "jobs"
    (pkg / "services").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "services" / "__init__.py").write_text("")
    (pkg / "tasks.py").write_text("from .services import documents, REGISTRY\n")
    (pkg / "services" / "documents.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from jobs import models\n"
        "def f():\n    from ..tasks import summarize\n"
    )
    (pkg / "models.py").write_text("")
    known = {"jobs", "jobs.services", "jobs.services.documents", "jobs.tasks", "jobs.models"}
    # documents is a module; REGISTRY is defined by the package itself.
    expected = {"jobs.services.documents", "jobs.services"}
    assert imported_modules(pkg / "tasks.py", known, tmp_path) == expected
    assert imported_modules(pkg / "services" / "documents.py", known, tmp_path) == {"jobs.tasks"}


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_ml_never_imports_the_service():
    service = ("django", "celery", "rest_framework", "jobs", "summarizer_project", "devstack")
    offenders = []
    for path in (ROOT / "ml").rglob("*.py"):
        for node in _runtime_imports(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in service
            ]
    assert offenders == []


# Each package's folders (a subpackage or a module directly in it), lowest tier
# first: a folder imports only from its own folder and from folders of lower tiers,
# so folders of one tier are siblings that never import each other. The top tier
# lists the packages themselves: ml is plain torch, jobs the Django app on it,
# summarizer_project the wiring, devstack and bench run the whole.
LAYERS: dict[str, list[set[str]]] = {
    "": [{"ml"}, {"jobs"}, {"summarizer_project"}, {"devstack"}, {"bench"}],
    "ml": [
        {"ml", "ml.settings", "ml.precision", "ml.batches", "ml.stats", "ml.encoder_names"},
        {"ml.text", "ml.languages"},
        {"ml.checkpoints", "ml.encoders"},
        {"ml.evaluate"},
        {"ml.training"},
        {"ml.models"},
        {"ml.registry"},
        {"ml.cli"},
        {"ml.__main__"},
    ],
    "jobs": [
        # messages imports no model, so the models can send (LeasedJob.enqueue).
        {"jobs", "jobs.outages", "jobs.text"},
        {"jobs.messages"},
        {"jobs.models"},
        {"jobs.engines"},
        # The job protocol and the domain writes: siblings.
        {"jobs.jobqueue", "jobs.services", "jobs.serving"},
        # The reads the admin, the API and the template tags share, and the job runners:
        # siblings (no worker reads a page's model, no read runs a job).
        {"jobs.queries", "jobs.workers"},
        {"jobs.tasks"},
        {"jobs.admin", "jobs.api", "jobs.beat", "jobs.checks"},
        {"jobs.templatetags", "jobs.management"},
        {"jobs.apps"},
    ],
}
# Imports that break a rule today, each with the issue that removes it; the test
# below fails once one is gone, so the list only shrinks.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def folder(module: str) -> tuple[str, str]:
    """(the package whose LAYERS rank it, the folder): jobs.services.leases is
    ("jobs", "jobs.services"); a module of a package without sub-layers is the package."""
    parts = module.split(".")
    if parts[0] in LAYERS and len(parts) > 1:
        return parts[0], ".".join(parts[:2])
    return "", parts[0]


def tier(package: str, name: str) -> int:
    for rank, names in enumerate(LAYERS[package]):
        if name in names:
            return rank
    raise AssertionError(f"{name} is in no tier of LAYERS[{package!r}]: place it")


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs where a folder imports a sibling or one above it."""
    found = set()
    for importer, targets in graph.items():
        for target in targets:
            (package, source), (target_package, destination) = folder(importer), folder(target)
            if source == destination:
                continue
            if package != target_package:  # across packages: the packages' tiers decide
                package, source, destination = "", importer.split(".")[0], target.split(".")[0]
                if source == destination:
                    continue
            if tier(package, destination) >= tier(package, source):
                found.add((importer, target))
    return found


def test_the_layer_check_finds_upward_and_sibling_imports():
    graph = {
        "jobs.models.jobs": {"jobs.messages"},  # down: fine
        "jobs.messages": {"jobs.models.jobs"},  # up
        "jobs.services.summaries": {"jobs.jobqueue.leases"},  # a sibling
        "jobs.tasks": {"jobs.workers.train", "ml.registry"},  # down, and to a lower package
        "ml.registry": {"jobs.models"},  # ml imports the app
        "jobs.workers.train": {"jobs.workers.training_data"},  # inside one folder
    }
    assert upward_imports(graph) == {
        ("jobs.messages", "jobs.models.jobs"),
        ("jobs.services.summaries", "jobs.jobqueue.leases"),
        ("ml.registry", "jobs.models"),
    }


def test_no_folder_imports_a_sibling_or_a_folder_above_it():
    graph = import_graph()
    found = upward_imports(graph)
    assert found - KNOWN_UPWARD == set()
    assert found >= KNOWN_UPWARD, f"no longer imported, drop: {KNOWN_UPWARD - found}"


@pytest.mark.parametrize("path", list(source_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{len(lines)} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse("\n".join(lines)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []
