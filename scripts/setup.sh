#!/usr/bin/env bash
# Installs every Debian 12 package Cadenza needs to build, test, render audio and (later) train models.
# Safe to re-run: only missing packages are installed. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # core libraries
  libcli11-dev nlohmann-json3-dev zlib1g-dev libcurl4-openssl-dev libcpp-httplib-dev
  # audio rendering through FluidSynth with the General MIDI soundfont
  libfluidsynth-dev fluid-soundfont-gm
  # models: libtorch (CPU) and the OpenBLAS it must use (the reference BLAS is ~30x slower)
  libtorch-dev libopenblas0-pthread
  # data-parallel training: the gloo headers c10d's ProcessGroupGloo.hpp includes (torchrun comes with python3-torch)
  libgloo-dev
  # tests, benchmarks, fuzzing, PyTorch reference fixtures
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev python3 python3-torch
  # the Debian package (cpack -G DEB: dpkg-shlibdeps, and `file` to find the executables) and its test
  dpkg-dev file
  # Cadenza Studio: the General MIDI SoundFont the page plays with (6 MB), and Chromium for its browser tests
  timgm6mb-soundfont chromium
)
# Node.js and npm install the studio's npm packages and run its browser tests; any Node.js from 18 on will do, so a
# machine that already has one (e.g. from NodeSource, which bundles npm) keeps it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for package in "${packages[@]}"; do
  # Not `dpkg-query | grep -q`: grep -q exits at the first match, and under pipefail the writer's SIGPIPE would
  # count as "not installed".
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    if [ ${#missing[@]} -gt 0 ]; then
      echo "setup: these Debian packages are missing and this is not root (and there is no sudo): ${missing[*]}" >&2
      echo "setup: install them as root: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  else
    sudo_cmd=(sudo)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#packages[@]} Debian packages already installed"
fi

# libtorch must resolve BLAS to OpenBLAS (pthread build), not the reference implementation. The library folder
# is the architecture's multiarch one (x86_64-linux-gnu, aarch64-linux-gnu, ...).
multiarch=$(gcc -print-multiarch)
blas=$(readlink -f "/usr/lib/$multiarch/libblas.so.3" 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *)
    if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
      echo "setup: libblas.so.3 is not OpenBLAS ($blas); as root run: update-alternatives --set" \
        "libblas.so.3-$multiarch /usr/lib/$multiarch/openblas-pthread/libblas.so.3" >&2
      exit 1
    fi
    "${sudo_cmd[@]}" update-alternatives --set "libblas.so.3-$multiarch" \
      "/usr/lib/$multiarch/openblas-pthread/libblas.so.3" ;;
esac

# Cadenza Studio's npm packages (spessasynth_lib, the SoundFont synthesizer the page plays with, and playwright-core,
# which drives Chromium in the browser tests), exactly as web/package-lock.json pins them. No browser is downloaded.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$root/web/node_modules/.package-lock.json" ] || \
   [ "$root/web/package-lock.json" -nt "$root/web/node_modules/.package-lock.json" ]; then
  echo "setup: installing the studio's npm packages (npm ci in web/)"
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: the studio's npm packages are installed"
fi
