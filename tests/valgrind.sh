#!/bin/sh
# valgrind.sh — valgrind memcheck over the compiler and the runtime, end to
# end: qkc compile of the bundled models (mlp and cnn in fp32, cnn in int8
# with --calib, mlp in fp16, a pre-quantized QOperator model, a text-syntax
# model), qkc calibrate, inspect and interp, and qkc run of every artifact
# (which dlopens it: the runtime and the generated code run under memcheck).
#
#   tests/valgrind.sh [BUILD]     (default: build; `make valgrind` runs it)
#
# Each command runs under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --error-exitcode=99
# so invalid reads and writes, uses of uninitialized values, bad frees and
# definitely or indirectly lost blocks fail it; "still reachable" and
# "possibly lost" blocks do not (LLVM keeps caches for the process's
# life: memory still pointed to at exit is not a leak). No suppressions are
# needed. Prints one line per command and, at the end, the totals of
# errors and definitely/indirectly lost bytes; exits 1 when any command
# had an error or exited otherwise than it should (0; 1 for the refusals).
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
QKC=$(cd "$BUILD" && pwd)/qkc
M=$SRC/models
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)"; exit 77; }
[ -x "$QKC" ] || { echo "valgrind.sh: no qkc in $BUILD (build first)"; exit 2; }
W=$(mktemp -d /tmp/qkc-valgrind.XXXXXX)
trap 'rm -rf "$W"' EXIT

fails=0 errors=0 definite=0 indirect=0 n=0
vg() { # NAME STATUS ARGS...: qkc ARGS under memcheck, which must exit STATUS
    name=$1 want=$2
    shift 2
    n=$((n + 1))
    log=$W/$name.log
    valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \
        --log-file="$log" "$QKC" "$@" >"$W/$name.out" 2>&1
    rc=$?
    e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d , | tail -1)
    d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
    i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -1)
    e=${e:-0} d=${d:-0} i=${i:-0}
    errors=$((errors + e)) definite=$((definite + d)) indirect=$((indirect + i))
    printf '%-18s exit %-3s errors %-4s definitely lost %-8s indirectly lost %s\n' "$name" "$rc" "$e" "$d" "$i"
    if [ "$rc" != "$want" ] || [ "$e" != 0 ]; then
        fails=$((fails + 1))
        echo "---- $name: qkc $*"
        tail -n 20 "$W/$name.out"
        sed -n '/== [A-Z].*\(Invalid\|uninitialised\|definitely\|indirectly\|free\|mismatched\)/,/==$/p' "$log" | head -n 80
    fi
}

cp "$SRC/tests/frontend/text/convnet.onnxtxt" "$W/convnet.onnxtxt"
cat >"$W/cos.onnxtxt" <<'EOF'
<ir_version: 8, opset_import: ["" : 13]>
g (float[1024] x) => (float[1024] y) <int64[1] s = {1024}> {
  c = ConstantOfShape(s)
  y = Add(x, c)
}
EOF
python3 -c "import numpy as np; np.save('$W/img.npy', np.load('$M/digits_test_x.npy')[:4])" ||
    { echo "valgrind.sh: needs numpy"; exit 2; }

# the compiler
vg compile-mlp        0 compile "$M/mlp.onnx" -o "$W/mlp.so"
vg compile-cnn        0 compile "$M/cnn.onnx" -o "$W/cnn.so"
vg compile-cnn-int8   0 compile "$M/cnn.onnx" -o "$W/cnn8.so" --precision int8 --calib "$M/digits_calib_x.npy"
vg compile-mlp-fp16   0 compile "$M/mlp.onnx" -o "$W/mlp16.so" --precision fp16
vg compile-qop        0 compile "$M/quantized/cnn_qop_u8_pt.onnx" -o "$W/qop.so"
vg compile-text       0 compile "$W/convnet.onnxtxt" -o "$W/convnet.so"
vg calibrate          0 calibrate "$M/mlp.onnx" --calib "$M/digits_calib_x.npy" -o "$W/mlp.qprofile"
vg compile-profile    0 compile "$M/mlp.onnx" -o "$W/mlp8.so" --precision int8 --profile "$W/mlp.qprofile"
vg inspect            0 inspect "$M/cnn.onnx" --print-after all
vg interp             0 interp "$M/cnn.onnx" -i "$M/digits_test_x.npy" -d "$W/interp"
# ... and its refusals (error paths free what they made)
vg refuse-bound       1 compile "$W/cos.onnxtxt" -o "$W/x.so" --max-const-bytes 1K
vg refuse-model       1 compile "$SRC/tests/frontend/fuzz_repro/onnx_constantofshape_large.onnx" -o "$W/x.so"
# the runtime: qkc run dlopens each artifact
vg run-mlp            0 run "$W/mlp.so" -i "$M/digits_test_x.npy" -d "$W/o1"
vg run-cnn            0 run "$W/cnn.so" -i "$M/digits_test_x.npy" -d "$W/o2" --threads 2
vg run-cnn-int8       0 run "$W/cnn8.so" -i "$M/digits_test_x.npy" -d "$W/o3"
vg run-mlp-fp16       0 run "$W/mlp16.so" -i "$M/digits_test_x.npy" -d "$W/o4"
vg run-qop            0 run "$W/qop.so" -i "$M/digits_test_x.npy" -d "$W/o5"
vg run-text           0 run "$W/convnet.so" -i "$W/img.npy" -d "$W/o6"
vg run-mlp8           0 run "$W/mlp8.so" -i "$M/digits_test_x.npy" -d "$W/o7"

echo "valgrind.sh: $n commands, $fails failed; $errors errors, $definite bytes definitely lost, $indirect bytes indirectly lost"
[ "$fails" = 0 ]
