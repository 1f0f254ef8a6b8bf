"""Container HEALTHCHECK: ``python -m whatshybrid.api.healthcheck`` exits 0 when ``/health`` answers.

Standard library only and no Django setup, so the probe stays cheap. It sends a Host header the
app accepts (the first ``ALLOWED_HOSTS`` entry), else Django would refuse the probe with 400.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def probe_host() -> str:
    first = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
    return "localhost" if first in ("", "*") else first


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}/health"
    request = urllib.request.Request(url, headers={"Host": probe_host(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
