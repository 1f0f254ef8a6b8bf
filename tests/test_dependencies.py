"""pip-audit on the pinned runtime requirements: no known vulnerability left unexplained.

pip-audit asks PyPI's per-version JSON API (``/pypi/<name>/<version>/json``) about every pin.
Where it cannot (a mirror answering 404 for those URLs, no route to its service), the pins it
skipped are checked against PyPI's per-project API instead: ``/pypi/<name>/json`` lists the
vulnerabilities of the project's *latest* release, so it speaks for a pin only when the pin is
that release. Pins neither source could check are named in the skip message; nothing is ever
reported clean without a source having answered for that exact version.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
PYPI_URL = "https://pypi.org/pypi"
# Vulnerability id -> why it does not affect us (and when to revisit).
_DISKCACHE_PICKLES = (
    "diskcache unpickles values and keys read from its files (code execution for whoever can write "
    "them). Our cache reads and writes through whatshybrid.caching.PlainDisk, which stores plain "
    "values only and refuses pickled rows (whatshybrid/tests/test_caching.py). Revisit when a "
    "release fixes it, or if the cache must hold more than plain values."
)
ACCEPTED: dict[str, str] = {"GHSA-w8v5-vhqr-4h9v": _DISKCACHE_PICKLES, "PYSEC-2026-2447": _DISKCACHE_PICKLES}

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;#]+)")


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()


@dataclass
class Audit:
    """Per pin (canonical name): what an auditing source found, or why none could check it."""

    pins: dict[str, str]
    vulns: dict[str, list[Vulnerability]] = field(default_factory=dict)
    unaudited: dict[str, str] = field(default_factory=dict)  # name -> reason

    def unexplained(self) -> list[str]:
        return [
            f"{name} {self.pins[name]}: {vuln.id} (fixed in {list(vuln.fixed_in) or 'no release yet'})"
            for name, found in sorted(self.vulns.items())
            for vuln in found
            if vuln.id not in ACCEPTED and not set(vuln.aliases) & set(ACCEPTED)
        ]


def read_pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by canonical name (extras dropped)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def run_pip_audit(requirements: Path) -> dict[str, Any] | None:
    """pip-audit's JSON report, or None when it produced none at all."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(requirements),
            "--no-deps",  # every runtime dependency is pinned in the file itself
            "--disable-pip",
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return json.loads(run.stdout) if run.stdout.strip().startswith("{") else None


def fixed_for(vuln: Vulnerability, version: Version) -> bool:
    """True when every fix listed is at or before ``version`` (no branch left unfixed for it).

    With no fix listed, or a fix in a later release, the vulnerability stands: a fix on another
    branch is not taken as a fix for ours.
    """
    fixes = []
    for fixed in vuln.fixed_in:
        try:
            fixes.append(Version(fixed))
        except InvalidVersion:
            return False
    return bool(fixes) and all(fix <= version for fix in fixes)


def pypi_project_vulnerabilities(
    name: str, version: str, *, index_url: str = PYPI_URL, timeout: float = 20
) -> list[Vulnerability] | str:
    """The vulnerabilities of ``name==version`` per PyPI's per-project API, or why it cannot say.

    That API lists the vulnerabilities of the latest release only, so a pin behind it is not
    audited here; withdrawn entries and those fixed at or before the pin do not apply.
    """
    try:
        with urllib.request.urlopen(f"{index_url}/{name}/json", timeout=timeout) as response:
            project = json.load(response)
    except urllib.error.HTTPError as exc:
        return f"{index_url}/{name}/json answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{index_url}/{name}/json unreadable: {exc}"
    latest = (project.get("info") or {}).get("version")
    listed = project.get("vulnerabilities")
    if not isinstance(latest, str) or not isinstance(listed, list):
        return f"{index_url}/{name}/json has no info.version or vulnerabilities list"
    try:
        ours, newest = Version(version), Version(latest)
    except InvalidVersion:
        return f"unparsable version (pinned {version!r}, latest {latest!r})"
    if ours != newest:
        return f"pinned {version}, latest release is {latest}: PyPI lists vulnerabilities for the latest only"
    found = []
    for entry in listed:
        if entry.get("withdrawn"):
            continue
        vuln = Vulnerability(
            id=str(entry["id"]),
            aliases=tuple(entry.get("aliases") or ()),
            fixed_in=tuple(entry.get("fixed_in") or ()),
        )
        if not fixed_for(vuln, ours):
            found.append(vuln)
    return found


def audit_pins(pins: dict[str, str], report: dict[str, Any] | None, *, index_url: str = PYPI_URL) -> Audit:
    """pip-audit's findings, completed for the pins it skipped by PyPI's per-project API."""
    audit = Audit(pins=pins)
    by_pip_audit = {canonicalize_name(dep["name"]): dep for dep in (report or {}).get("dependencies", [])}
    for name, version in pins.items():
        dep = by_pip_audit.get(name)
        if dep is not None and "skip_reason" not in dep:
            audit.vulns[name] = [
                Vulnerability(
                    id=v["id"], aliases=tuple(v.get("aliases", ())), fixed_in=tuple(v.get("fix_versions", ()))
                )
                for v in dep.get("vulns", [])
            ]
            continue
        result = pypi_project_vulnerabilities(name, version, index_url=index_url)
        if isinstance(result, str):
            skipped = dep["skip_reason"] if dep is not None else "not in pip-audit's report"
            audit.unaudited[name] = f"pip-audit: {skipped}; per-project API: {result}"
        else:
            audit.vulns[name] = result
    return audit


def test_pinned_requirements_have_no_unexplained_vulnerabilities() -> None:
    pins = read_pins((ROOT / "requirements.txt").read_text())
    audit = audit_pins(pins, run_pip_audit(ROOT / "requirements.txt"))
    unexplained = audit.unexplained()
    assert not unexplained, "known vulnerabilities (upgrade, or explain in ACCEPTED):\n" + "\n".join(unexplained)
    if audit.unaudited:
        pytest.skip(
            f"{len(audit.vulns)} of {len(pins)} pins audited, none vulnerable; not audited:\n"
            + "\n".join(f"{name} {pins[name]}: {why}" for name, why in sorted(audit.unaudited.items()))
        )


# --- the per-project fallback, against canned PyPI answers on a local server ------------------

CANNED: dict[str, Any] = {
    "current": {
        "info": {"version": "2.0.1"},
        "vulnerabilities": [
            {"id": "PYSEC-1", "aliases": ["CVE-1"], "fixed_in": []},  # no fix released: applies
            {"id": "PYSEC-2", "aliases": [], "fixed_in": ["1.9.9", "2.0.1"]},  # fixed in ours
            {"id": "PYSEC-3", "aliases": [], "fixed_in": ["2.0.2rc1"]},  # fixed only later: applies
            {"id": "PYSEC-4", "aliases": [], "fixed_in": [], "withdrawn": "2025-01-01T00:00:00Z"},
        ],
    },
    "clean": {"info": {"version": "1.0"}, "vulnerabilities": []},
    "behind": {"info": {"version": "3.1.0"}, "vulnerabilities": []},
    "no-vuln-data": {"info": {"version": "1.0"}},  # an answer without the list is not "clean"
}


class CannedPyPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        match = re.fullmatch(r"/pypi/([^/]+)/json", self.path)
        project = CANNED.get(match[1]) if match else None
        if match and match[1] == "broken":
            body, status = b"{not json", 200
        elif project is None:
            body, status = b'{"message": "Not Found"}', 404
        else:
            body, status = json.dumps(project).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass  # keep the test output to the assertions


@pytest.fixture
def canned_pypi() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedPyPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    finally:
        server.shutdown()
        server.server_close()


def test_requirement_lines_become_canonical_pins() -> None:
    text = (
        "# Runtime\nDjango==6.1.3\npsycopg[binary,pool]==3.3.9  # driver\n-r other.txt\nfoo>=1\n\nZope.Interface==7.0\n"
    )
    assert read_pins(text) == {"django": "6.1.3", "psycopg": "3.3.9", "zope-interface": "7.0"}


def test_fallback_reports_what_applies_to_the_latest_release(canned_pypi: str) -> None:
    found = pypi_project_vulnerabilities("current", "2.0.1", index_url=canned_pypi)
    assert [vuln.id for vuln in found] == ["PYSEC-1", "PYSEC-3"]
    assert found[0].aliases == ("CVE-1",)
    assert pypi_project_vulnerabilities("clean", "1.0.0", index_url=canned_pypi) == []  # 1.0 == 1.0.0


@pytest.mark.parametrize(
    ("name", "version", "reason"),
    [
        ("behind", "3.0.9", "pinned 3.0.9, latest release is 3.1.0"),
        ("missing", "1.0", "answered HTTP 404"),
        ("no-vuln-data", "1.0", "has no info.version or vulnerabilities list"),
        ("broken", "1.0", "unreadable"),
    ],
)
def test_fallback_never_calls_unchecked_versions_clean(canned_pypi: str, name: str, version: str, reason: str) -> None:
    result = pypi_project_vulnerabilities(name, version, index_url=canned_pypi)
    assert isinstance(result, str) and reason in result


def test_pip_audit_findings_are_kept_and_its_skips_filled_in(canned_pypi: str) -> None:
    pins = {"audited": "1.0", "current": "2.0.1", "behind": "3.0.9", "clean": "1.0"}
    report = {
        "dependencies": [
            {"name": "Audited", "version": "1.0", "vulns": [{"id": "GHSA-x", "fix_versions": ["1.1"], "aliases": []}]},
            {"name": "current", "skip_reason": "Dependency not found on PyPI"},
            {"name": "behind", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    audit = audit_pins(pins, report, index_url=canned_pypi)
    assert sorted(audit.vulns) == ["audited", "clean", "current"]  # "clean" was missing from the report
    assert list(audit.unaudited) == ["behind"]
    assert "Dependency not found on PyPI" in audit.unaudited["behind"]
    assert "latest release is 3.1.0" in audit.unaudited["behind"]
    assert audit.unexplained() == [
        "audited 1.0: GHSA-x (fixed in ['1.1'])",
        "current 2.0.1: PYSEC-1 (fixed in no release yet)",
        "current 2.0.1: PYSEC-3 (fixed in ['2.0.2rc1'])",
    ]
    # pip-audit producing no report at all (no route to its service): everything falls back.
    assert sorted(audit_pins(pins, None, index_url=canned_pypi).vulns) == ["clean", "current"]
