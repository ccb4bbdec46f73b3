#!/usr/bin/env bash
# Installs every dependency of attnbounds from Debian's packages.  Run as root; idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES=(
  g++ cmake make pkg-config
  libboost-dev libgmp-dev libmpfr-dev libmpfi-dev libglpk-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev catch2 libbenchmark-dev
  libzstd-dev zstd                                    # compressed certificates (*.cbor.zst); the CLI decodes them in a test
  gnuplot-nox ccache
  python3 python3-numpy python3-torch python3-pytest   # python/attnbounds and tests/python
  pybind11-dev python3-dev                            # the module attnbounds_core (python/bindings)
  python3-jsonschema                                  # the schemas test (docs/schemas)
  libtorch-dev                                        # attnbounds learn (src/learn, optional: built only when found)
  libopenmpi-dev openmpi-bin                          # optional MPI sharding (--mpi) and its test
  clang libclang-rt-14-dev                            # scripts/sanitize.sh, scripts/fuzz*.sh (ASan, UBSan, libFuzzer)
  texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-science texlive-pictures
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
$SUDO apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all dependencies installed"
