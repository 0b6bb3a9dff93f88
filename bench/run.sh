#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — run qkc's benchmarks against their peers (`make bench`).
#
# Each benchmark runs when its peer is installed; otherwise one line says why
# it was skipped and how to install the peer, and the next one runs. Needs
# nothing beyond what `make build` provides to print those lines.
# Exit status: 0 unless qkc itself fails (a benchmark exits 1).
set -u

BUILD=${1:-build}
src=${BASH_SOURCE[0]}
case $src in */*) ;; *) src=./$src ;; esac
HERE=$(cd "${src%/*}" && pwd)
ROOT=${HERE%/*}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

if [ ! -x "$BUILD/qkc" ]; then
    echo "bench: $BUILD/qkc not found: run \`make build\` first" >&2
    exit 1
fi

failed=0
ran=0
skipped=0

# The Python with the peers: $BENCH_PYTHON, else `python3` on PATH (the PyPI
# one; Debian's /usr/bin/python3 has no onnxruntime package).
PY=${BENCH_PYTHON:-$(command -v python3 || true)}

# quant_vs_ort.py: qkc int8 vs ONNX Runtime's quantize_static (accuracy, SQNR, latency)
bench_quant_vs_ort() {
    echo "=== quant_vs_ort: qkc int8 vs ONNX Runtime quantize_static (models/mlp.onnx, models/cnn.onnx)"
    if [ -z "$PY" ]; then
        echo "quant_vs_ort: skipped: no python3 on PATH (install Python 3, then: python3 -m pip install onnxruntime onnx numpy)"
        skipped=$((skipped + 1))
        return
    fi
    local missing
    missing=$("$PY" - <<'EOF' 2>/dev/null
import importlib.util
print(" ".join(m for m in ("numpy", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None))
EOF
    ) || missing="numpy onnx onnxruntime"
    if [ -n "$missing" ]; then
        if [ "$PY" = /usr/bin/python3 ]; then
            echo "quant_vs_ort: skipped: $missing not installed for Debian's /usr/bin/python3 (Debian has no" \
                 "onnxruntime package): put a PyPI Python (e.g. pyenv) first on PATH or set BENCH_PYTHON, then" \
                 "python3 -m pip install onnxruntime onnx numpy"
        else
            echo "quant_vs_ort: skipped: $missing not installed for $PY: $PY -m pip install onnxruntime onnx numpy"
        fi
        skipped=$((skipped + 1))
        return
    fi
    ran=$((ran + 1))
    if ! "$PY" "$HERE/quant_vs_ort.py" --build "$BUILD"; then
        echo "quant_vs_ort: FAILED (qkc failed or misbehaved; see above)"
        failed=$((failed + 1))
    fi
}

# perf.py: GEMM/conv kernels vs oneDNN/OpenBLAS/XNNPACK, end to end vs ONNX
# Runtime/PyTorch/TVM/IREE, compile time and memory; writes bench/RESULTS.md.
# It runs with a Python that has numpy and onnx: $BENCH_PERF_PYTHON, else
# Debian's /usr/bin/python3 (python3-onnx, python3-numpy; python3-torch for
# the PyTorch part), else $PY. Each missing peer inside it is a skip line.
bench_perf() {
    echo "=== perf: qkc vs oneDNN, OpenBLAS, XNNPACK, ONNX Runtime, PyTorch, TVM, IREE (writes bench/RESULTS.md)"
    local cand pp=""
    for cand in ${BENCH_PERF_PYTHON:-} /usr/bin/python3 ${PY:-}; do
        if [ -x "$cand" ] && "$cand" -c "import numpy, onnx" 2>/dev/null; then
            pp=$cand
            break
        fi
    done
    if [ -z "$pp" ]; then
        echo "perf: skipped: no Python with numpy and onnx (apt-get install python3-onnx python3-numpy" \
             "python3-torch, or python3 -m pip install onnx numpy)"
        skipped=$((skipped + 1))
        return
    fi
    ran=$((ran + 1))
    # shellcheck disable=SC2086  # BENCH_PERF_ARGS: extra options, e.g. "--rounds 3 --sections gemm"
    if ! "$pp" "$HERE/perf.py" --build "$BUILD" ${BENCH_PERF_ARGS:-}; then
        echo "perf: FAILED (qkc failed or computed a wrong result; see above)"
        failed=$((failed + 1))
    fi
}

# calib_speed.py: what calibration costs (ResNet-50 of the zoo) against the
# model's inference and ONNX Runtime's calibration
bench_calib_speed() {
    echo "=== calib_speed: qkc calibrate vs fp32 inference and ONNX Runtime's calibration (ResNet-50)"
    if [ -z "$PY" ] || ! "$PY" -c "import numpy" 2>/dev/null; then
        echo "calib_speed: skipped: no python3 with numpy on PATH (python3 -m pip install onnxruntime onnx numpy)"
        skipped=$((skipped + 1))
        return
    fi
    ran=$((ran + 1))
    if ! "$PY" "$HERE/calib_speed.py" --build "$BUILD"; then
        echo "calib_speed: FAILED (qkc failed or its profiles differ; see above)"
        failed=$((failed + 1))
    fi
}

# trained_vs_ort.py: fp16/int8 accuracy on the trained real architectures of
# models/ against ONNX Runtime's quantize_static and quantize_dynamic
bench_trained_vs_ort() {
    echo "=== trained_vs_ort: qkc fp16/int8 vs ONNX Runtime's quantizers on models/{resnet,mobilenet}_digits, seqformer"
    if [ -z "$PY" ] || ! "$PY" -c "import numpy, onnxruntime" 2>/dev/null; then
        echo "trained_vs_ort: skipped: no python3 with onnxruntime on PATH (python3 -m pip install onnxruntime onnx numpy)"
        skipped=$((skipped + 1))
        return
    fi
    ran=$((ran + 1))
    if ! "$PY" "$HERE/trained_vs_ort.py" --build "$BUILD"; then
        echo "trained_vs_ort: FAILED (qkc failed; see above)"
        failed=$((failed + 1))
    fi
}

bench_perf
bench_quant_vs_ort
bench_trained_vs_ort
bench_calib_speed

echo "=== bench: $ran run, $skipped skipped, $failed failed"
[ "$failed" -eq 0 ]
