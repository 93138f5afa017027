# Shared by scripts/demo and scripts/test: create .venv and install flowctl into it;
# say_step prints the one line per step that both scripts show.
# The install is skipped (in well under a second) while .venv was installed from this very
# pyproject.toml: a stamp holds the hash of pyproject.toml and of the Python it was made with.
# Otherwise each step says what it does, and pip shows each package as it goes.

say_step() {  # one line per step, on stderr
    printf '==> %s\n' "$*" >&2
}

_venv_key() {
    # What the installed .venv depends on: the project's metadata and the interpreter.
    { cat pyproject.toml; .venv/bin/python -VV; } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    local python=${PYTHON:-python3.11}
    command -v "$python" >/dev/null 2>&1 || python=python3
    if [ ! -x .venv/bin/python ]; then
        say_step "creating .venv with $("$python" -V)"
        "$python" -m venv .venv
    fi
    local stamp=.venv/.flowctl-installed key
    key=$(_venv_key)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
        say_step "flowctl is installed in .venv (pyproject.toml unchanged)"
        return
    fi
    say_step "installing flowctl and its test tools into .venv" \
        "(about a minute the first time; later only when pyproject.toml changes)"
    # This machine's pip configuration names local indexes that may not exist: their
    # warnings are noise, real errors still show. "Requirement already satisfied" lines
    # are left out: what is downloaded and built is the progress worth showing.
    say_step "pip: upgrading pip"
    .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored" >&2)
    say_step "pip: flowctl and its dependencies (each package as it is collected)"
    .venv/bin/python -m pip install --progress-bar off -e '.[dev]' \
        2> >(grep -v "is ignored" >&2) \
        | { grep --line-buffered -v "^Requirement already satisfied" || true; }
    echo "$key" >"$stamp"
    say_step "installed"
}
