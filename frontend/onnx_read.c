/* frontend/onnx_read.c — not written yet */
