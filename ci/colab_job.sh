#!/usr/bin/env bash
# The Colab CI job: the course as Colab runs it today, emulated in a Python 3.13 venv.
#
#   1. a venv with Colab's pins (ci/colab-constraints.txt, the one file that holds them), reused
#      between runs while that file and the Python version are unchanged;
#   2. the notebooks' own set-up install command, extracted from notebook 01's set-up cell (all six
#      set-up cells are identical, tests/test_repository.py checks it), run inside that venv;
#   3. FAIL if that install changed the version of any package that was already there (Colab
#      imports several of them before the first cell runs: an upgrade would need a restart);
#   4. the widget tests on Colab's ipywidgets (7.7.1), then all notebooks in quick mode under nbval
#      with a stub `google.colab` imported at kernel start (ci/colab_stub), so the Colab branches
#      of the set-up cells and of notebook 06 execute;
#   5. the venv is put back as it was (the added packages are uninstalled) for the next run.
#
# Usage: ci/colab_job.sh [--prepare]   (--prepare: only build or check the cached venv)
# Cost: the first run downloads and installs torch's CUDA wheels for Python 3.13 (several GB; pip
# caches them); later runs reuse the venv.
# Environment: COLAB_VENV (default: ~/.cache/audio-denoise-ci/venv-colab, outside the checkout so
# that CI's fresh clones reuse it), PYTHON313 (a python3.13 to use).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${COLAB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/audio-denoise-ci/venv-colab}
CONSTRAINTS=ci/colab-constraints.txt
WORK=$ROOT/build/colab-ci
T0=$(date +%s)
say() { echo "[colab-job $(($(date +%s) - T0))s] $*"; }

find_python313() {
    local c
    for c in "${PYTHON313:-}" "$(command -v python3.13 || true)" /root/.pyenv/versions/3.13*/bin/python3.13 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /usr/bin/python3.13; do
        if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys, venv, ssl; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

PY313=$(find_python313) || {
    cat >&2 <<'EOF'
colab job: no Python 3.13 found (Colab runs 3.13). Install one, then run again:
  pyenv install 3.13          (if pyenv is installed), or
  apt-get install python3.13 python3.13-venv   (Debian trixie / Ubuntu 24.10 and later), or
  set PYTHON313=/path/to/python3.13
EOF
    exit 1
}

freeze() { "$VENV/bin/python" -m pip freeze --all --exclude-editable --disable-pip-version-check | LC_ALL=C sort; }

KEY=$( { sha256sum "$CONSTRAINTS"; "$PY313" -VV; } | sha256sum | cut -c1-16)
STAMP=$VENV/.colab-stamp
PRISTINE=$VENV/.colab-pristine.txt

build_venv() {
    say "building $VENV with $("$PY313" -V) and $CONSTRAINTS (torch's CUDA wheels: several GB, cached by pip)"
    rm -rf "$VENV"
    "$PY313" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$(grep -E '^pip==' "$CONSTRAINTS")"
    "$VENV/bin/python" -m pip install --quiet -r "$CONSTRAINTS"
    freeze >"$PRISTINE"
    echo "$KEY" >"$STAMP"
}

restore_pristine() {
    # Uninstall what an earlier run added; rebuild if anything else differs.
    local now extra
    now=$(freeze)
    extra=$(comm -13 <(sed 's/==.*//' "$PRISTINE" | sort -u) <(sed 's/==.*//; s/ @ .*//' <<<"$now" | sort -u))
    if [ -n "$extra" ]; then
        # shellcheck disable=SC2086
        "$VENV/bin/python" -m pip uninstall --quiet -y $extra
    fi
    "$VENV/bin/python" -m pip uninstall --quiet -y audio-denoise-utils 2>/dev/null || true
    [ "$(freeze)" = "$(cat "$PRISTINE")" ]
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] && restore_pristine; then
    say "reusing $VENV (constraints and Python unchanged)"
else
    build_venv
fi
[ "${1:-}" = "--prepare" ] && { say "venv ready"; exit 0; }
trap 'restore_pristine || echo "colab job: could not restore $VENV; it is rebuilt next time" >&2' EXIT

rm -rf "$WORK"
mkdir -p "$WORK"
freeze >"$WORK/before.txt"

# 2. The set-up cell's own install lines, run as the cell runs them (from notebooks/, with the
#    kernel's Python). `git clone` is skipped: this checkout is the course.
"$VENV/bin/python" ci/colab_setup_command.py notebooks/01_explore_ravdess.ipynb "$VENV/bin/python" >"$WORK/install.sh"
say "set-up cell install command:"
sed 's/^/    /' "$WORK/install.sh"
(cd notebooks && bash -euo pipefail "$WORK/install.sh")
freeze >"$WORK/after.txt"

# 3. Nothing that was there may change; list what was added.
say "pip changes made by the set-up cell:"
if ! "$VENV/bin/python" ci/compare_freeze.py "$WORK/before.txt" "$WORK/after.txt"; then
    echo "colab job: FAILED: the set-up cell's install changed packages Colab already has" >&2
    exit 1
fi

# Test tools Colab does not have (nbval); constrained so they cannot move anything either.
"$VENV/bin/python" -m pip install --quiet -c "$WORK/after.txt" "nbval>=0.11"
freeze >"$WORK/tools.txt"
"$VENV/bin/python" ci/compare_freeze.py --quiet "$WORK/after.txt" "$WORK/tools.txt" || {
    echo "colab job: FAILED: installing nbval changed Colab's packages" >&2
    exit 1
}
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null

# 4. Widget tests on Colab's ipywidgets, then the notebooks in quick mode with the stub.
say "ipywidgets $("$VENV/bin/python" -c 'import ipywidgets; print(ipywidgets.__version__)') in the Colab venv"
"$VENV/bin/python" -m pytest tests/test_widgets.py tests/test_course.py -q -p no:cacheprovider

mkdir -p "$WORK/ipython/profile_default/startup" "$WORK/notebooks"
cp ci/colab_stub/startup.py "$WORK/ipython/profile_default/startup/00-colab.py"
# The set-up cells clone into /content/course in Colab: here the course is this checkout.
for nb in notebooks/[0-9][0-9]_*.ipynb; do
    sed "s#/content/course#$ROOT#g" "$nb" >"$WORK/notebooks/$(basename "$nb")"
done
say "notebooks in quick mode, Colab branches on (stub google.colab)"
AUDIO_DENOISE_QUICK=1 MPLBACKEND=Agg IPYTHONDIR="$WORK/ipython" PYTHONPATH="$ROOT/ci/colab_stub" \
    PYDEVD_DISABLE_FILE_VALIDATION=1 \
    COLAB_STUB_DIR="$WORK/stub" \
    "$VENV/bin/python" -m pytest --nbval-lax --nbval-current-env "$WORK/notebooks" -q -p no:cacheprovider \
    --rootdir "$WORK"
freeze >"$WORK/after-notebooks.txt"
"$VENV/bin/python" ci/compare_freeze.py --quiet "$WORK/tools.txt" "$WORK/after-notebooks.txt" || {
    echo "colab job: FAILED: the set-up cells, run by the notebooks, changed Colab's packages" >&2
    exit 1
}
if [ -s "$WORK/stub/downloads.txt" ]; then
    echo "colab job: FAILED: Run-all downloaded files without being asked:" >&2
    cat "$WORK/stub/downloads.txt" >&2
    exit 1
fi
grep -q . "$WORK/stub/uploads.txt" || { echo "colab job: FAILED: notebook 06 never asked files.upload()" >&2; exit 1; }
say "Colab job passed"
