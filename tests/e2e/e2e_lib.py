"""e2e_lib.py -- shared by the Python end-to-end tests (run with Debian's
/usr/bin/python3, which has python3-onnx 1.12 and numpy).

Running qkc with a timeout and checking that it neither crashed nor tripped
a sanitizer; building small ONNX models (including broken ones) with
onnx.helper; reading .npy files; a tiny check/report harness whose exit
status ctest reads (0 pass, 1 fail, 77 skip)."""
import os
import subprocess
import sys
import traceback

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TIMEOUT = 60  # seconds for any one command: a hang is a failure, not a stuck ctest
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


class Result:
    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def describe(self):
        return "$ %s\nexit status %s\n--- stdout ---\n%s--- stderr ---\n%s" % (
            " ".join(self.cmd), self.rc, self.out[-3000:], self.err[-3000:])


class Failure(Exception):
    pass


def run(cmd, timeout=TIMEOUT, cwd=None, env=None):
    """Run a command; a timeout, a signal or a sanitizer report is a Failure."""
    cmd = [str(c) for c in cmd]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd, env=env)
    except subprocess.TimeoutExpired as e:
        raise Failure("$ %s\nhung: no exit after %d s" % (" ".join(cmd), timeout)) from e
    r = Result(cmd, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
    if r.rc < 0:
        raise Failure("killed by signal %d\n%s" % (-r.rc, r.describe()))
    for mark in SANITIZER_MARKS:
        if mark in r.err:
            raise Failure("sanitizer report (%s)\n%s" % (mark, r.describe()))
    return r


def expect(cond, msg, result=None):
    if not cond:
        raise Failure(msg + ("\n" + result.describe() if result else ""))


def ok(cmd, **kw):
    """Run a command that must succeed."""
    r = run(cmd, **kw)
    expect(r.rc == 0, "expected exit status 0", r)
    return r


def load_npy(path):
    return np.load(path, allow_pickle=False)


# ---- models -----------------------------------------------------------------

def tensor_info(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def make_model(nodes, inputs, outputs, inits=(), opset=13, ir_version=8, name="g"):
    """A ModelProto, without checking it (the tests break models on purpose)."""
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] if opset is not None else [])
    m.ir_version = ir_version
    if opset is None:
        del m.opset_import[:]
    return m


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString() if hasattr(model, "SerializeToString") else model)
    return path


# ---- harness ----------------------------------------------------------------

class Suite:
    """Named checks; each either passes, fails (Failure or any exception) or
    skips (Skip). Prints one line per check and a summary; exit status for
    ctest."""

    def __init__(self, name):
        self.name, self.passed, self.failed, self.skipped = name, 0, [], 0
        self.verbose = "-v" in sys.argv

    def check(self, name, fn, *args):
        only = os.environ.get("E2E_ONLY")  # a substring of the names of the checks to run (development)
        if only and only not in name:
            return
        try:
            note = fn(*args)
        except Skip as e:
            self.skipped += 1
            print("SKIP %s: %s" % (name, e))
            return
        except Failure as e:
            self.failed.append(name)
            print("FAIL %s:\n%s\n" % (name, e))
            return
        except Exception:  # a bug in the test itself reads as a failure too
            self.failed.append(name)
            print("FAIL %s: exception\n%s" % (name, traceback.format_exc()))
            return
        self.passed += 1
        print("ok   %s%s" % (name, (": " + note) if note and self.verbose else ""))

    def finish(self):
        print("%s: %d passed, %d failed, %d skipped" % (self.name, self.passed, len(self.failed), self.skipped))
        if self.failed:
            print("failed: " + ", ".join(self.failed))
            sys.exit(1)
        sys.exit(77 if self.passed == 0 and self.skipped else 0)


class Skip(Exception):
    pass


def paths_from_argv(usage):
    """QKC SOURCE_DIR WORK_DIR [-v]: the qkc binary, the source tree, a work
    folder (created)."""
    args = [a for a in sys.argv[1:] if a != "-v"]
    if len(args) < 3:
        sys.exit(usage)
    qkc, src, work = os.path.abspath(args[0]), os.path.abspath(args[1]), os.path.abspath(args[2])
    os.makedirs(work, exist_ok=True)
    return qkc, src, work, args[3:]


__all__ = ["TIMEOUT", "Result", "Failure", "Skip", "Suite", "run", "ok", "expect", "load_npy", "tensor_info",
           "make_model", "const", "save", "paths_from_argv", "np", "onnx", "TensorProto", "helper", "numpy_helper"]
