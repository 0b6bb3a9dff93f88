/* frontend/onnx_import.c — not written yet */
