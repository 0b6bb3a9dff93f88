/* frontend/onnx_tensor.c — not written yet */
