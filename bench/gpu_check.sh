#!/usr/bin/env bash
# Issue 17's GPU check, one prepared script (a few minutes on a GPU; runs on a CPU too):
# samples/s of each default classifier in float32 and in the auto precision, whether the input
# pipeline keeps the device busy, and the GPU's utilisation while each ran (nvidia-smi, sampled
# every 200 ms). Writes bench/results/device.md, or $OUT/device.md when $OUT is set (the
# device machine's output folder).
#   bench/gpu_check.sh            # after ./run setup
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-$here/.venv/bin/python}"
out_dir="${OUT:-$here/bench/results}"
mkdir -p "$out_dir"

log=""
sampler=""
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out_dir/gpu.txt"
    log="$out_dir/gpu_utilisation.csv"
    nvidia-smi --query-gpu=timestamp,utilization.gpu --format=csv,noheader -lms 200 > "$log" &
    sampler=$!
    trap 'kill "$sampler" 2> /dev/null || true' EXIT
else
    echo "gpu_check.sh: no nvidia-smi: measuring the CPU only" >&2
fi

"$python" -m bench.bench_device ${log:+--gpu-log "$log"} --out "$out_dir/device.md" "$@"
