# Shared by scripts/demo and scripts/test: create .venv and install flowctl into it.
# Reinstalls only when pyproject.toml changed since the last install, so reruns are quick.
ensure_venv() {
    local python=${PYTHON:-python3.11}
    command -v "$python" >/dev/null 2>&1 || python=python3
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    local stamp=.venv/.flowctl-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        # This machine's pip configuration names local indexes that may not exist;
        # their warnings are noise, real errors still show.
        .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored" >&2)
        .venv/bin/python -m pip install --quiet -e '.[dev]' 2> >(grep -v "is ignored" >&2)
        touch "$stamp"
    fi
}
