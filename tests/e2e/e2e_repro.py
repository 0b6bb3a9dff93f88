#!/usr/bin/python3
"""e2e_repro.py -- reproducible builds: compiling the same model twice with
the same options (in two processes) gives byte-identical artifacts, for
every target and kind of output; so does compiling into another folder
under another file name, or from a copy of the model kept elsewhere
under another name (an artifact carries no path or file name).

    e2e_repro.py QKC SOURCE_DIR WORK_DIR [-v]"""
import filecmp
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")

suite = Suite("e2e_repro")


def first_difference(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        x, y = f.read(), g.read()
    for i, (p, q) in enumerate(zip(x, y)):
        if p != q:
            return "sizes %d and %d, first differing byte at offset %d" % (len(x), len(y), i)
    return "sizes %d and %d" % (len(x), len(y))


def twice(model, out_name, *opts):
    out = os.path.join(WORK, out_name)
    keep = out + ".first"
    ok([QKC, "compile", model, "-o", out] + list(opts))
    shutil.copyfile(out, keep)
    ok([QKC, "compile", model, "-o", out] + list(opts))
    expect(filecmp.cmp(out, keep, shallow=False),
           "qkc compile %s -o %s %s twice: the outputs differ (%s)" % (model, out, " ".join(opts),
                                                                        first_difference(out, keep)))
    return out


CASES = [
    ("mlp.onnx", "mlp.so"),
    ("cnn.onnx", "cnn.so"),
    ("cnn.onnx", "cnn-b8.so", "--batch", "8"),
    ("cnn.onnx", "cnn.o", "--emit", "obj", "--prefix", "digits"),
    ("cnn.onnx", "cnn.s", "--emit", "asm"),
    ("cnn.onnx", "cnn-aarch64.so", "--target", "aarch64"),
    ("mlp.onnx", "mlp-nvptx.so", "--target", "nvptx"),
    ("cnn.onnx", "cnn.ptx", "--target", "nvptx", "--emit", "ptx"),
]
for model, out, *opts in CASES:
    suite.check("twice: %s -> %s %s" % (model, out, " ".join(opts)), twice, os.path.join(MODELS, model), out, *opts)


def check_elsewhere():
    first = os.path.join(WORK, "cnn.so")
    if not os.path.exists(first):
        twice(os.path.join(MODELS, "cnn.onnx"), "cnn.so")
    other = os.path.join(WORK, "elsewhere")
    os.makedirs(other, exist_ok=True)
    model = os.path.join(other, "a-copy-of-the-digits-cnn.onnx")
    shutil.copyfile(os.path.join(MODELS, "cnn.onnx"), model)
    out = os.path.join(other, "libdigits_cnn_with_a_much_longer_name.so")
    ok([QKC, "compile", model, "-o", out])
    expect(filecmp.cmp(out, first, shallow=False),
           "the same model from another folder and file name into another gives another .so (%s)" %
           first_difference(out, first))


suite.check("another folder, other file names", check_elsewhere)
suite.finish()
