#!/usr/bin/env bash
# The program as a user installs it: build the wheel, install it (not editable) into a
# fresh venv, and run the installed `skysegui` from a folder outside the checkout:
# --version, `info` on a real HDRI, `train --help` (built-in configs) and a --screenshot of
# the window (offscreen), which must not be blank and must have its style sheet.
#
#   .ci/wheel_check.sh        (or `make wheel-check`; about a minute)
#
# The fresh venv gets only the wheel. The heavy dependencies (TensorFlow, Qt, OpenCV, ...)
# come from the development venv through a .pth line that adds its site-packages as a
# plain folder: its own .pth files, among them the editable install's finder, are not run,
# so `import skysegui` can only find the installed wheel (checked below).
# PY: the development venv's python (default .venv/bin/python).
# SKYSEGUI_HDRI: the image for `info` and the screenshot (default ../shared/data/hdri/city.exr).
set -euo pipefail
case "${PY:-}" in ""|/*) ;; *) PY="$(pwd)/$PY" ;; esac  # relative to where it was started
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PY:-$REPO/.venv/bin/python}
HDRI=${SKYSEGUI_HDRI:-$REPO/../shared/data/hdri/city.exr}
START=$SECONDS

fail() { echo "wheel check FAILED: $*" >&2; exit 1; }
step() { echo "wheel check: $* ($((SECONDS - START)) s)"; }

[ -x "$PY" ] || fail "no development venv at $PY: run 'make test' (or set PY=/path/to/python)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/skysegui-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. The wheel, built from a copy of what goes into it (the checkout gets no build/ folder).
step "building the wheel"
mkdir -p "$WORK/src"
cp pyproject.toml README.md "$WORK/src/"
for f in LICENSE LICENSE.txt LICENSE.md; do [ -f "$f" ] && cp "$f" "$WORK/src/"; done
tar -cf - --exclude=__pycache__ --exclude='*.pyc' skysegui | tar -xf - -C "$WORK/src"
# setuptools>=77 (pyproject's build requirement) in the venv: build with it, offline;
# else pip's isolated build fetches it from the package index.
own=$("$PY" -c 'import setuptools as s; print("--no-build-isolation" if int(s.__version__.split(".")[0]) >= 77 else "")')
# shellcheck disable=SC2086
"$PY" -m pip wheel --no-deps --quiet $own -w "$WORK/dist" "$WORK/src" > "$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; fail "pip could not build the wheel (its output is above)"; }
WHEELS=("$WORK"/dist/skysegui-*.whl)
[ -f "${WHEELS[0]}" ] || fail "pip wheel wrote no skysegui-*.whl"
WHEEL=${WHEELS[0]}
"$PY" - "$WHEEL" <<'EOF' || fail "the wheel lacks files the installed program needs (listed above)"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["skysegui/resources/style.qss", "skysegui/resources/configs/cpu-laptop.toml",
        "skysegui/resources/configs/tiny-test.toml", "skysegui/cli/main.py"]
missing = [n for n in need if n not in names]
stray = sorted({n.split("/")[0] for n in names} - {"skysegui"} - {n.split("/")[0] for n in names if ".dist-info/" in n})
for n in missing:
    print(f"missing from the wheel: {n}", file=sys.stderr)
for n in stray:
    print(f"not part of the package, but in the wheel: {n}/", file=sys.stderr)
sys.exit(1 if missing or stray else 0)
EOF

# 2. A fresh venv with only the wheel; the dependencies from the development venv.
step "installing $(basename "$WHEEL") into a fresh venv"
"$PY" -m venv --without-pip "$WORK/venv" || fail "python -m venv could not make a venv"
VPY="$WORK/venv/bin/python"
"$PY" -m pip --python "$VPY" install --no-deps --no-index --quiet "$WHEEL" \
  || fail "pip could not install the wheel into the fresh venv"
DEPS=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
SITE=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$DEPS" > "$SITE/zz-skysegui-dependencies.pth"

# 3. The installed program, run from outside the checkout.
mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"
export PATH="$WORK/venv/bin:$PATH" QT_QPA_PLATFORM=offscreen
unset PYTHONPATH SKYSEGUI_BUILTIN_MODEL || true
where=$("$VPY" -c 'import skysegui; print(skysegui.__file__)')
case "$where" in
  "$SITE"/*) ;;
  *) fail "import skysegui found $where, not the wheel installed in $SITE" ;;
esac
[ "$(command -v skysegui)" = "$WORK/venv/bin/skysegui" ] || fail "the wheel installed no skysegui command"

step "skysegui --version"
version=$(skysegui --version) || fail "skysegui --version exited $?"
want=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/pyproject.toml" | head -n 1)
[ "$version" = "skysegui $want" ] || fail "skysegui --version said '$version', pyproject says $want"

if [ ! -f "$HDRI" ]; then
  [ -z "${CI:-}" ] || fail "$HDRI is missing: CI must run with ../shared beside the repo"
  echo "wheel check: $HDRI is missing; using a synthetic panorama of 'skysegui demo' instead"
  skysegui demo demo --count 1 --width 512 > /dev/null || fail "skysegui demo failed"
  HDRI=$(find "$PWD/demo" -name '*.exr' | sort | head -n 1)
fi

step "skysegui info $(basename "$HDRI")"
skysegui info "$HDRI" > info.txt 2> info.err || { cat info.err >&2; fail "skysegui info exited non-zero"; }
grep -q "OpenEXR" info.txt || { cat info.txt; fail "skysegui info did not describe the EXR"; }

step "skysegui train --help (built-in configs)"
skysegui train --help > train-help.txt || fail "skysegui train --help failed"
grep -q "cpu-laptop" train-help.txt || fail "skysegui train --help lists no built-in config"
"$VPY" -c 'from skysegui.ml.configs import load_train_config; load_train_config("tiny-test")' \
  || fail "the built-in config tiny-test does not load from the installed package"

step "skysegui --screenshot (offscreen)"
timeout 300 skysegui --screenshot shot.png "$HDRI" 2> shot.err \
  || { cat shot.err >&2; fail "skysegui --screenshot exited non-zero"; }
if grep -q "style sheet" shot.err; then cat shot.err >&2; fail "the installed window has no style sheet"; fi
"$VPY" - shot.png <<'EOF' || fail "the screenshot is missing or blank"
import sys
import cv2
picture = cv2.imread(sys.argv[1])
if picture is None:
    sys.exit(f"{sys.argv[1]} is not a readable PNG")
h, w = picture.shape[:2]
colours = len({tuple(p) for p in picture[::4, ::4].reshape(-1, 3).tolist()})
print(f"wheel check: screenshot {w} x {h}, {colours} colours, spread {picture.std():.1f}")
if w < 800 or h < 500 or colours < 50 or picture.std() < 5:
    sys.exit("the screenshot is blank or nearly so")
EOF
step "passed"
