"""By-hand cross-check of models/*.onnx against PyTorch, using ONNX Runtime.

Not part of the build or the tests; nothing in qkc depends on ONNX Runtime.
Run with a Python that has onnxruntime and numpy (NOT Debian's /usr/bin/python3):

    python3 -m pip install onnxruntime
    python3 models/check_ort.py

It retrains the models with `/usr/bin/python3 models/train.py --out TMP --ref TMP`
(deterministic), checks that the retrained .onnx/.npy files are byte-identical
to the committed ones (so PyTorch's logits belong to the committed models), then
checks, for mlp.onnx and cnn.onnx, that ONNX Runtime's logits match PyTorch's
(max abs diff < 1e-4) at batch 1 (every test image on its own) and at batch 360
(the whole test split at once), and that ORT's test accuracy equals PyTorch's.
"""
import filecmp
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4
FILES = ["digits_test_x.npy", "digits_test_y.npy", "digits_calib_x.npy",
         "mlp.onnx", "cnn.onnx"]


def main():
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "train.py"),
                        "--out", tmp, "--ref", tmp], check=True)
        for f in FILES:
            same = filecmp.cmp(os.path.join(HERE, f), os.path.join(tmp, f), shallow=False)
            print(f"retrained {f}: {'identical' if same else 'DIFFERS'} to models/{f}")
            ok &= same

        x = np.load(os.path.join(HERE, "digits_test_x.npy"))
        y = np.load(os.path.join(HERE, "digits_test_y.npy"))
        assert x.dtype == np.float32 and x.shape == (360, 1, 8, 8), (x.dtype, x.shape)
        assert y.dtype == np.int64 and y.shape == (360,), (y.dtype, y.shape)
        print(f"onnxruntime {ort.__version__}")
        for name in ["mlp", "cnn"]:
            sess = ort.InferenceSession(os.path.join(HERE, name + ".onnx"),
                                        providers=["CPUExecutionProvider"])
            assert [i.name for i in sess.get_inputs()] == ["input"]
            assert [o.name for o in sess.get_outputs()] == ["logits"]
            t360 = np.load(os.path.join(tmp, f"{name}_torch_logits_b360.npy"))
            t1 = np.load(os.path.join(tmp, f"{name}_torch_logits_b1.npy"))
            o360 = sess.run(["logits"], {"input": x})[0]
            o1 = np.concatenate([sess.run(["logits"], {"input": x[i:i + 1]})[0]
                                 for i in range(len(x))])
            assert o360.shape == (360, 10) and o1.shape == (360, 10)
            d360 = float(np.abs(o360 - t360).max())
            d1 = float(np.abs(o1 - t1).max())
            acc_t = float((t360.argmax(1) == y).mean())
            acc_o360 = float((o360.argmax(1) == y).mean())
            acc_o1 = float((o1.argmax(1) == y).mean())
            good = (d1 < TOL and d360 < TOL and acc_o360 == acc_t and acc_o1 == acc_t)
            ok &= good
            print(f"{name}: max|ort-torch| batch1 {d1:.3g}, batch360 {d360:.3g}; "
                  f"accuracy torch {acc_t * 100:.2f}%, ort batch360 {acc_o360 * 100:.2f}%, "
                  f"ort batch1 {acc_o1 * 100:.2f}%  {'OK' if good else 'FAIL'}")
    print("ALL OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
