# Sourced by bin/serve, bin/test and .ci/run: finds Python >= 3.12 and prepares .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  local candidates=() root
  candidates+=("$(command -v python3.13 2>/dev/null || true)")
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    candidates+=($(ls -d "$root"/versions/3.13.*/bin/python 2>/dev/null | sort -rV) $(ls -d "$root"/versions/3.12.*/bin/python 2>/dev/null | sort -rV))
  fi
  candidates+=("$(command -v python3.12 2>/dev/null || true)" "$(command -v python3 2>/dev/null || true)")
  for c in "${candidates[@]}"; do
    # pyenv shims exist for versions that are not active and fail when run: test-run each one.
    if [ -n "$c" ] && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      echo "$c"; return 0
    fi
  done
  echo "error: Python >= 3.12 not found (tried python3.13 on PATH, pyenv 3.13.x/3.12.x, python3.12, python3)." >&2
  echo "       Install Python 3.13 (e.g. 'pyenv install 3.13.0') and run again." >&2
  return 1
}

ensure_venv() {
  local py stamp want
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    py="$(find_python)"
    echo "==> creating .venv with $("$py" --version)"
    rm -rf .venv
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  stamp=.venv/.requirements.sha256
  want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "==> installing Python packages (requirements-dev.txt)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > "$stamp"
  fi
}

ensure_node_packages() {
  # The real-client Socket.IO test drives the npm socket.io-client, as the extension does.
  if [ -f tests/js/package.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "error: npm is required for tests/js (the socket.io-client test); install Node.js 18+." >&2
      return 1
    fi
    if [ ! -d tests/js/node_modules ] || [ tests/js/package.json -nt tests/js/node_modules ]; then
      echo "==> installing tests/js npm packages"
      (cd tests/js && npm install --no-audit --no-fund --silent)
      touch tests/js/node_modules
    fi
  fi
}
