"""pip-audit on the pinned runtime requirements: no known vulnerability left unexplained.

pip-audit asks a vulnerability service (PyPI's JSON API by default) about every pinned version.
Where that service cannot be reached, nothing was audited: the test says so and skips; it never
reports "no vulnerabilities" for packages it could not check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Vulnerability id -> why it does not affect us (and when to revisit). Empty: none accepted.
ACCEPTED: dict[str, str] = {}


def test_pinned_requirements_have_no_unexplained_vulnerabilities() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(ROOT / "requirements.txt"),
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
    if not run.stdout.strip().startswith("{"):
        pytest.skip(f"pip-audit could not run against its vulnerability service: {run.stderr.strip()[-400:]}")
    dependencies = json.loads(run.stdout)["dependencies"]
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    if not audited:
        reason = dependencies[0]["skip_reason"] if dependencies else "no dependencies listed"
        pytest.skip(f"vulnerability service unreachable: 0 of {len(dependencies)} pins audited ({reason})")
    unexplained = [
        f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {vuln.get('fix_versions')})"
        for dep in audited
        for vuln in dep.get("vulns", [])
        if vuln["id"] not in ACCEPTED and not set(vuln.get("aliases", [])) & set(ACCEPTED)
    ]
    skipped = [dep["name"] for dep in dependencies if "skip_reason" in dep]
    assert not unexplained, "known vulnerabilities (upgrade, or explain in ACCEPTED):\n" + "\n".join(unexplained)
    assert not skipped, f"pins that could not be audited: {skipped}"
