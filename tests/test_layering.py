"""The import rules of the layout (README "Layout"), checked on the source itself, function-level
imports included.

- Imports run one way: ``api/`` -> services/selectors -> payloads/models. Nothing outside an
  ``api/`` package imports a domain app's ``api`` modules.
- Shared plumbing (``whatshybrid/``) imports no domain app but ``accounts``, the ground floor.
  Its tests may (they exercise the plumbing with real domain rows), and the project's URLconf
  and settings name the apps as dotted strings, which are not imports.
- No app's ``services.py`` imports its ``jobs.py``: services enqueue by name through the job
  registry (``whatshybrid.jobs``), and ``jobs.py`` imports the services.
- No domain module imports another module's underscore names: what another module needs is
  that module's public API (a service, a selector), so a private helper can change freely.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("accounts", "ai", "contacts", "crm", "messaging", "settings_app", "tasks", "templates_app", "webhooks")
API_PACKAGES = tuple(f"{app}.api" for app in DOMAIN_APPS)


def _may_import_api(path: Path) -> bool:
    """The API layer itself, URL configurations (they mount the API) and tests."""
    parts = path.relative_to(ROOT).parts
    return "api" in parts[:-1] or "tests" in parts[:-1] or path.name == "urls.py"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module an import statement anywhere in ``tree`` names (line, dotted name)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                package = module.split(".")
                package = package if is_package else package[:-1]
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from contacts import api``
                yield node.lineno, f"{target}.{alias.name}"


def _names_api(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in API_PACKAGES)


def _tracked() -> list[str]:
    return subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()


def _imports_of(relative: str) -> Iterator[tuple[int, str]]:
    path = ROOT / relative
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
    return _imported(tree, _module_of(path), path.name == "__init__.py")


def test_nothing_below_the_api_layer_imports_it():
    tracked = _tracked()
    offenders: dict[str, str] = {}  # "path:line" -> the api module it names
    for relative in tracked:
        path = ROOT / relative
        if _may_import_api(path) or not path.exists():
            continue
        for line, name in _imports_of(relative):
            if _names_api(name):
                offenders.setdefault(f"{relative}:{line}", name)
    assert not offenders, "Only api/ packages, urls.py and tests may import an app's api/:\n" + "\n".join(
        f"{where} imports {name}" for where, name in offenders.items()
    )


def test_the_scan_sees_function_level_and_relative_imports():
    source = "def f():\n    from contacts.api.serializers import X\n\nfrom .api import views\n"
    names = [name for _line, name in _imported(ast.parse(source), "crm.services", False)]
    assert "contacts.api.serializers" in names and "crm.api" in names


def test_shared_plumbing_imports_no_domain_app_but_accounts():
    offences = [
        f"{relative}:{line} imports {name}"
        for relative in _tracked()
        if relative.startswith("whatshybrid/") and "tests" not in Path(relative).parts
        for line, name in _imports_of(relative)
        if name.split(".")[0] in DOMAIN_APPS and name.split(".")[0] != "accounts"
    ]
    assert offences == []


def test_no_service_imports_its_own_jobs():
    offences = [
        f"{relative}:{line} imports {name}"
        for relative in _tracked()
        if Path(relative).name == "services.py"
        for line, name in _imports_of(relative)
        if f"{name}.".startswith(f"{Path(relative).parent.name}.jobs.")
    ]
    assert offences == []


def _private_names(relative: str) -> Iterator[tuple[int, str]]:
    """``from <first-party module> import _name`` anywhere in the file (line, module.name)."""
    path = ROOT / relative
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if not (ROOT / node.module.split(".")[0]).is_dir():
                continue  # a third-party package's private pieces are fenced where they are used
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield node.lineno, f"{node.module}.{alias.name}"


def test_no_domain_module_imports_another_modules_private_names():
    offences = [
        f"{relative}:{line} imports {name}"
        for relative in _tracked()
        if relative.split("/")[0] in (*DOMAIN_APPS, "whatshybrid") and "tests" not in Path(relative).parts
        for line, name in _private_names(relative)
    ]
    assert offences == []
