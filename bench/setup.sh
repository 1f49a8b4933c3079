#!/usr/bin/env bash
# Installs what the benchmarks need (safe to run again: apt-get and pip skip what is present).
#   Debian packages: the Fashion-MNIST IDX files, espeak-ng (speech), the fortune files (text),
#   gnugo, sox, drum samples (hydrogen-drumkits, sonic-pi-samples), appstream (appstreamcli),
#   Tux Paint's clip-art stamps (tuxpaint-stamps-default: larger pictures).
#   The AppStream (DEP-11) metadata and icons of Debian main, with their Packages list, into
#   $appstream_lists (bench/data/appstream_table.py reads them); the system's apt lists are left alone.
#   Python: mmcnn's `bench` extra into the shared virtual environment .venv.
# Run from anywhere:  sudo bench/setup.sh   (or as root)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.venv"
appstream_lists="${MMCNN_APPSTREAM_LISTS:-/var/lib/mmcnn-bench/appstream}"

# Several category files each, so that the text benchmark has enough classes.
packages=(
    dataset-fashion-mnist
    espeak-ng
    fortunes
    fortunes-min
    fortunes-debian-hints
    fortunes-bofh-excuses
    gnugo
    sox
    hydrogen-drumkits
    sonic-pi-samples
    appstream
    tuxpaint-stamps-default
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/setup.sh: apt-get update" >&2
    $sudo apt-get update
    echo "bench/setup.sh: apt-get install -y ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "bench/setup.sh: Debian packages already installed: ${packages[*]}" >&2
fi

# The multi-label corpus (bench/data/debtags.py) reads the package records of the apt lists.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    echo "bench/setup.sh: no apt package lists (bench/data/debtags.py reads them): apt-get update" >&2
    $sudo apt-get update
fi

# The apps' table (bench/data/appstream_table.py): DEP-11 components and 64x64 icons. They go to a
# lists folder of their own, fetched by one `apt-get update` that enables only there the index
# targets that appstream's apt configuration declares (a machine may turn them off by default).
if ! ls "$appstream_lists"/*_dep11_Components-amd64.yml.gz "$appstream_lists"/*_dep11_icons-64x64.tar.gz \
    "$appstream_lists"/*_binary-amd64_Packages* >/dev/null 2>&1; then
    echo "bench/setup.sh: apt-get update into $appstream_lists (AppStream metadata and icons)" >&2
    $sudo mkdir -p "$appstream_lists/partial"
    $sudo apt-get update \
        -o Dir::State::Lists="$appstream_lists" \
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=true \
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=true
else
    echo "bench/setup.sh: AppStream metadata already in $appstream_lists" >&2
fi

if [ ! -x "$venv/bin/pip" ]; then
    echo "bench/setup.sh: no virtual environment at $venv; run ./run setup first" >&2
    exit 1
fi
echo "bench/setup.sh: $venv/bin/pip install -e '$here[bench]'" >&2
"$venv/bin/pip" install --quiet -e "$here[bench]"

echo "bench/setup.sh: done" >&2
