#!/usr/bin/env python3
"""calib_speed.py -- what calibration costs: qkc's compiled calibration
engine against the compiled model's own inference and against ONNX
Runtime's quantize_static, on a real network (issue 10).

    python3 bench/calib_speed.py --build build [--model M.onnx] [--images 64] [--threads 1,2]

The model defaults to the zoo's ResNet-50 (BUILD/zoo-work/models/
resnet50_op17.onnx, built by bench/zoo/build_models.py with Debian's
python3-torch when missing). The images: N random 3x224x224 samples (fixed
seed) in one .npy. Measured in one run, on this CPU:

  qkc calibrate      wall time of `qkc calibrate MODEL --calib X.npy` (the
                     compiled engine: the model compiled for this machine
                     with every float tensor an output, one sample per
                     thread) at each --calib-threads; of it, the fixed cost
                     (the same command on one image: import, compile, load)
  qkc fp32 x N       N inferences of the fp32 artifact at batch 1, one
                     thread (`qkc bench` median x N)
  qkc interp         `--calib-engine interp` (the reference interpreter) on
                     a few images, scaled to N (per image, linear)
  ORT calibration    onnxruntime.quantization's MinMax calibrator over the
                     same N images (create_calibrator, collect_data,
                     compute_data: the part of quantize_static that
                     calibrates), and the whole quantize_static

and checks that the profile of the N images equals, byte for byte, the merge
of the profiles of 4 shards and the profile at 1 thread.

Needs onnxruntime and onnx (PyPI) in the Python that runs it; without them
the ORT rows are skipped. Exit 1 when qkc fails or the profiles differ."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0 or "warning" in p.stderr:
        sys.exit("calib_speed: %s: exit %d\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return dt, p


def ort_calibration(model, x, tmp):
    try:
        from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, quantize_static
        from onnxruntime.quantization.calibrate import create_calibrator
    except ImportError as e:
        return None, None, "skipped: onnxruntime not installed (%s -m pip install onnxruntime onnx)" % sys.executable
    import onnx
    name = onnx.load(model, load_external_data=False).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(x):
                return None
            self.i += 1
            return {name: x[self.i - 1:self.i]}

    t = time.perf_counter()
    cal = create_calibrator(model, None, augmented_model_path=os.path.join(tmp, "augmented.onnx"),
                            calibrate_method=CalibrationMethod.MinMax)
    cal.collect_data(Reader())
    cal.compute_data()
    t_cal = time.perf_counter() - t
    t = time.perf_counter()
    quantize_static(model, os.path.join(tmp, "ort-int8.onnx"), Reader(), calibrate_method=CalibrationMethod.MinMax)
    t_all = time.perf_counter() - t
    return t_cal, t_all, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", help="default: the zoo's resnet50 (BUILD/zoo-work/models/resnet50_op17.onnx)")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--threads", default="1,%d" % (os.cpu_count() or 1), help="calibration threads to time")
    ap.add_argument("--interp-images", type=int, default=2, help="images for the interpreter's time (scaled)")
    a = ap.parse_args()
    qkc = os.path.join(os.path.abspath(a.build), "qkc")
    if not os.access(qkc, os.X_OK):
        sys.exit("calib_speed: %s not found: run `make build` first" % qkc)
    model = a.model
    if not model:
        mdir = os.path.join(os.path.abspath(a.build), "zoo-work", "models")
        model = os.path.join(mdir, "resnet50_op17.onnx")
        if not os.path.exists(model):
            print("calib_speed: building the zoo's resnet50 in %s (Debian's python3-torch)" % mdir, flush=True)
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "zoo", "build_models.py"), mdir, "--models",
                            "resnet50", "--opsets", "17"], check=False)
        if not os.path.exists(model):
            print("calib_speed: skipped: no %s (apt-get install python3-torch python3-torchvision)" % model)
            return 0
    threads = [int(t) for t in a.threads.split(",")]
    tmp = tempfile.mkdtemp(prefix="qkc-calib-speed-")
    model = os.path.abspath(model)
    os.chdir(tmp)  # ONNX Runtime's quantizer may leave temporary files in the current directory
    rng = np.random.default_rng(10)
    x = rng.standard_normal((a.images, 3, 224, 224)).astype(np.float32)
    xs = os.path.join(tmp, "x.npy")
    np.save(xs, x)
    np.save(os.path.join(tmp, "x1.npy"), x[:1])
    np.save(os.path.join(tmp, "xi.npy"), x[:a.interp_images])
    shards = os.path.join(tmp, "shards")
    os.makedirs(shards)
    for k, part in enumerate(np.array_split(x, 4)):
        np.save(os.path.join(shards, "s%d.npy" % k), part)

    print("CPU: %s, %d CPUs; model %s; %d images" % (cpu_name(), os.cpu_count() or 1, model, a.images), flush=True)
    prof = {}
    rows = []
    for t in threads:
        prof[t] = os.path.join(tmp, "t%d.qprofile" % t)
        dt, _ = timed([qkc, "calibrate", model, "--calib", xs, "-o", prof[t], "--calib-threads", str(t)])
        rows.append(("qkc calibrate, %d thread%s" % (t, "s" if t > 1 else ""), dt))
    fixed, _ = timed([qkc, "calibrate", model, "--calib", os.path.join(tmp, "x1.npy"), "-o",
                      os.path.join(tmp, "one.qprofile"), "--calib-threads", "1"])
    so = os.path.join(tmp, "fp32.so")
    timed([qkc, "compile", model, "-o", so])
    _, p = timed([qkc, "bench", so, "--batch", "1", "--threads", "1", "--iters", "10", "--json"])
    import json
    med = json.loads(p.stdout)["median_us"] * 1e-6
    infer = med * a.images
    ti, _ = timed([qkc, "calibrate", model, "--calib", os.path.join(tmp, "xi.npy"), "-o",
                   os.path.join(tmp, "interp.qprofile"), "--calib-engine", "interp"])
    interp = ti / a.interp_images * a.images
    t_cal, t_all, why = ort_calibration(model, x, tmp)

    # shards merged == all at once == 1 thread
    sp = []
    for k in range(4):
        sp.append(os.path.join(tmp, "s%d.qprofile" % k))
        timed([qkc, "calibrate", model, "--calib", os.path.join(shards, "s%d.npy" % k), "-o", sp[-1]])
    merged = os.path.join(tmp, "merged.qprofile")
    timed([qkc, "calibrate", "--merge"] + sp + ["-o", merged])
    blobs = {n: open(f, "rb").read() for n, f in [("4 shards merged", merged)] +
             [("%d thread(s)" % t, prof[t]) for t in threads]}
    same = len(set(blobs.values())) == 1

    print("\n| what (%d images) | seconds | / qkc fp32 x %d |" % (a.images, a.images))
    print("|---|---:|---:|")
    print("| qkc fp32 inference x %d (batch 1, 1 thread) | %.2f | 1.00 |" % (a.images, infer))
    for n, dt in rows:
        print("| %s | %.2f | %.2f |" % (n, dt, dt / infer))
    print("| of which fixed (import, compile for this CPU, load) | %.2f | %.2f |" % (fixed, fixed / infer))
    print("| qkc calibrate --calib-engine interp (from %d images) | %.1f | %.1f |" % (a.interp_images, interp,
                                                                                      interp / infer))
    if t_cal is None:
        print("| ORT | %s | |" % why)
    else:
        print("| ORT MinMax calibration (create_calibrator, collect, compute) | %.2f | %.2f |" % (t_cal, t_cal / infer))
        print("| ORT quantize_static, all of it | %.2f | %.2f |" % (t_all, t_all / infer))
    best = min(dt for _, dt in rows)
    per_image = (rows[0][1] - fixed) / max(a.images - 1, 1)
    print("\nqkc per image (1 thread, fixed cost aside): %.3f s = %.2f x one fp32 inference" % (per_image,
                                                                                             per_image / med))
    if t_cal is not None:
        print("qkc calibrate (best) / ORT calibration: %.2f" % (best / t_cal))
    print("profiles: %s" % ("identical (%s)" % ", ".join(blobs) if same else "DIFFER: " + ", ".join(
        "%s %d bytes" % (n, len(b)) for n, b in blobs.items())))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
