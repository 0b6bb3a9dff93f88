#!/usr/bin/python3
"""e2e_trained.py -- accuracy on trained real architectures (issue 10):
models/resnet_digits.onnx, models/mobilenet_digits.onnx (the bundled digits,
upscaled to 32x32 inside the model) and models/seqformer.onnx (a transformer
encoder on the generated sequence task of models/seq_task.py), trained by
models/train_real.py. The oracle is the labels.

For each model, compiled for this machine and run by `qkc run` on its test
set (360 digits; 512 sequences):

  1. fp32: accuracy at or above the floor the training script enforced
     (models/train_real.py MIN_ACC), so the artifact is the trained model;
  2. fp16 and bf16: accuracy within 0.5 points of fp32;
  3. int8 (qkc's defaults, calibrated on the digits' 200 calibration images
     or the task's 128 calibration sequences, never the test set): accuracy
     within 0.5 points of fp32, and the output SQNR against fp32 reported;
  4. int8-dynamic (no data; on the CNNs only their final Gemm is dynamic
     int8, their Convs stay float): within 0.5 points of fp32, SQNR
     reported.

    e2e_trained.py QKC SOURCE_DIR WORK_DIR [-v]"""
import importlib.util
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
MAX_DROP = 0.5  # accuracy points

suite = Suite("e2e_trained")
suite.verbose = True


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(MODELS, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def path(*p):
    return os.path.join(WORK, *p)


os.makedirs(os.path.join(WORK, "out"), exist_ok=True)
seq_task = load_module("seq_task")
ids, ids_y = seq_task.test_set()
np.save(path("seq_test_x.npy"), ids)
np.save(path("seq_test_y.npy"), ids_y)
np.save(path("seq_calib_x.npy"), seq_task.calib_set())
# the floors of models/train_real.py, read from its source (it imports torch)
with open(os.path.join(MODELS, "train_real.py")) as f:
    text = f.read()
MIN_ACC = eval(text[text.index("MIN_ACC = ") + len("MIN_ACC = "):].split("\n", 1)[0])  # a dict literal

DIGITS = (os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy"),
          os.path.join(MODELS, "digits_calib_x.npy"))
SEQ = (path("seq_test_x.npy"), path("seq_test_y.npy"), path("seq_calib_x.npy"))
CASES = [("resnet_digits", DIGITS), ("mobilenet_digits", DIGITS), ("seqformer", SEQ)]


def logits(name, tag, x, *opts):
    so = path("%s.%s.so" % (name, tag))
    ok([QKC, "compile", os.path.join(MODELS, name + ".onnx"), "-o", so] + list(opts), timeout=600)
    d = path("out", "%s.%s" % (name, tag))
    ok([QKC, "run", so, "-i", x, "-d", d])
    return load_npy(os.path.join(d, "logits.npy"))


def check(name, data):
    x, y, calib = data
    labels = load_npy(y)
    out = {"fp32": logits(name, "fp32", x), "fp16": logits(name, "fp16", x, "--precision", "fp16"),
           "bf16": logits(name, "bf16", x, "--precision", "bf16"),
           "int8": logits(name, "int8", x, "--precision", "int8", "--calib", calib),
           "int8-dynamic": logits(name, "dyn", x, "--precision", "int8-dynamic")}
    acc = {k: 100 * float(np.mean(v.argmax(1) == labels)) for k, v in out.items()}
    expect(acc["fp32"] >= 100 * MIN_ACC[name], "fp32 accuracy %.2f%% < the training floor %.2f%%" % (
        acc["fp32"], 100 * MIN_ACC[name]))
    for p in ("fp16", "bf16", "int8", "int8-dynamic"):
        expect(acc[p] >= acc["fp32"] - MAX_DROP, "%s accuracy %.2f%% is more than %.1f points below fp32's %.2f%%" % (
            p, acc[p], MAX_DROP, acc["fp32"]))
    ref = out["fp32"].astype(np.float64)

    def sq(p):
        return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((out[p] - ref) ** 2), 1e-300))

    return ("accuracy fp32 %.2f%%, fp16 %.2f%%, bf16 %.2f%% (SQNR %.1f dB), int8 %.2f%% (SQNR %.1f dB), "
            "int8-dynamic %.2f%% (SQNR %.1f dB)" % (acc["fp32"], acc["fp16"], acc["bf16"], sq("bf16"), acc["int8"],
                                                    sq("int8"), acc["int8-dynamic"], sq("int8-dynamic")))


for _name, _data in CASES:
    suite.check("%s: fp32 at its trained accuracy, fp16, bf16, int8 and int8-dynamic within %.1f points" % (
        _name, MAX_DROP), check, _name, _data)
suite.finish()
