"""The import rules of the layout (README "Layout"), checked on the source itself.

- Shared plumbing (``whatshybrid/``) imports no domain app but ``accounts``, the ground floor.
  Its tests may (they exercise the plumbing with real domain rows), and the project's URLconf
  and settings name the apps as dotted strings, which are not imports.
- No app's ``services.py`` imports its ``jobs.py``: services enqueue by name through the job
  registry (``whatshybrid.jobs``), and ``jobs.py`` imports the services.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = {"contacts", "messaging", "crm", "tasks", "templates_app", "settings_app"}


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute name a file imports (``from a import b`` gives ``a.b``, so a module imported
    from its package counts too), at any depth: function-level imports included."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def plumbing_files() -> Iterator[Path]:
    for path in sorted((ROOT / "whatshybrid").rglob("*.py")):
        if "tests" not in path.relative_to(ROOT).parts:
            yield path


def test_shared_plumbing_imports_no_domain_app_but_accounts():
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in plumbing_files()
        for line, module in imported_modules(path)
        if module.split(".")[0] in DOMAIN_APPS
    ]
    assert offences == []


def test_the_scan_sees_function_level_imports(tmp_path):
    # The circles this gate replaced were lazy imports inside functions.
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from tasks.jobs import task_reminder_job\n    import crm.models\n")
    assert [module for _, module in imported_modules(source)] == ["tasks.jobs.task_reminder_job", "crm.models"]


def test_no_service_imports_its_own_jobs():
    offences = [
        f"{services.relative_to(ROOT)}:{line} imports {module}"
        for services in sorted(ROOT.glob("*/services.py"))
        for line, module in imported_modules(services)
        if f"{module}.".startswith(f"{services.parent.name}.jobs.")
    ]
    assert offences == []
