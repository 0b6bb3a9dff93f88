#!/bin/sh
# make demo: compile the bundled digits models with qkc and run them.
set -eu
BUILD=${1:-build}
mkdir -p "$BUILD/demo"
for model in cnn mlp; do
    echo "\$ qkc compile models/$model.onnx -o $BUILD/demo/$model.so"
    "$BUILD/qkc" compile "models/$model.onnx" -o "$BUILD/demo/$model.so"
    "$BUILD/digits_demo" "$BUILD/demo/$model.so" models/digits_test_x.npy models/digits_test_y.npy
done
echo
echo "\$ qkc compile models/cnn.onnx --target aarch64 -o $BUILD/demo/cnn-aarch64.so && qkc run ..."
"$BUILD/qkc" compile models/cnn.onnx --target aarch64 -o "$BUILD/demo/cnn-aarch64.so"
"$BUILD/qkc" run "$BUILD/demo/cnn-aarch64.so" --input models/digits_test_x.npy --output-dir "$BUILD/demo/aarch64-out"
echo "AArch64 artifact run under qemu-aarch64: logits in $BUILD/demo/aarch64-out/logits.npy"
