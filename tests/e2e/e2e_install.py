#!/usr/bin/python3
"""e2e_install.py -- the installed qkc: `cmake --install`, the CMake package
and qkc_add_model(), pkg-config.

  1. `cmake --install BUILD --prefix WORK/stage` puts qkc, libqkrt (shared and
     static), include/qkc/*.h, lib/cmake/qkc, lib/pkgconfig/qkrt.pc and the
     docs in place; the tree is then moved to WORK/moved (it must be
     relocatable: no installed text names the stage, the build or the
     source tree), and the moved qkc runs.
  2. libqkrt.so exports exactly the functions include/qkc/qkrt.h declares.
  3. examples/cmake configured against the moved prefix (find_package,
     qkc_add_model) builds; its three programs (the CNN as a .so, as a
     STATIC object, as int8) print one class per test image, equal to the
     argmax of the logits that the build's `qkc run` writes for the same
     model and options (and >= 97% right against the labels).
  4. Rebuilds: nothing to do when nothing changed; a touched calibration
     file recompiles only the int8 model, a touched model or qkc all three.
  5. qkc_add_model's errors: no MODEL, a missing model, a STATIC name that
     is no C identifier -- configure fails and says so.
  6. pkg-config --cflags --libs qkrt (PKG_CONFIG_PATH at the moved prefix)
     builds examples/cmake/main.c with cc -Werror; it prints the same classes.
  7. share/qkc/python/qkrt.py (PYTHONPATH, no QKRT_LIBRARY) loads the moved
     libqkrt.so and `python3 -m qkrt run` writes qkc run's logits, bit for bit.

    e2e_install.py QKC SOURCE_DIR WORK_DIR BUILD_DIR LIBDIR [--sanitize] [-v]

--sanitize: the build has ASan (its libqkrt.so needs the sanitizer runtime
in every program): skipped."""
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, rest = paths_from_argv(__doc__)
if len(rest) < 2:
    sys.exit(__doc__)
BUILD, LIBDIR = os.path.abspath(rest[0]), rest[1]
STAGE, PREFIX = os.path.join(WORK, "stage"), os.path.join(WORK, "moved")
MODELS = os.path.join(WORK, "models")  # copies, so that the test may touch them
EXAMPLE, EXAMPLE_BUILD = os.path.join(SRC, "examples", "cmake"), os.path.join(WORK, "example")
BUILD_TIMEOUT = 300
# The example's programs: (the model's options for `qkc compile`, what its build step prints).
PROGRAMS = {"digits": ([], "cnn.so"), "digits_static": ([], "cnn_static.o"),
            "digits_int8": (["--precision", "int8", "--calib", os.path.join(MODELS, "digits_calib_x.npy")],
                            "cnn_int8.so")}

suite = Suite("e2e_install")
if "--sanitize" in sys.argv:
    print("SKIP e2e_install: a sanitizer build's libqkrt.so needs -fsanitize in every program that links it")
    sys.exit(77)
for tool in ("cmake", "ninja", "cc", "pkg-config", "nm"):
    if not shutil.which(tool):
        print("SKIP e2e_install: no %s (scripts/deps.sh installs it)" % tool)
        sys.exit(77)
ENV = {k: v for k, v in os.environ.items() if k not in ("CMAKE_PREFIX_PATH", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")}


def path(*p):
    return os.path.join(WORK, *p)


def classes(output):
    """The class per image of the example's output ("image I: class C")."""
    found = re.findall(r"^image (\d+): class (\d)$", output, re.M)
    expect(found and [int(i) for i, _ in found] == list(range(len(found))), "no 'image I: class C' lines:\n" +
           output[:500])
    return np.array([int(c) for _, c in found])


ORACLE = {}


def oracle(program):
    """The classes `qkc run` gives with the build's qkc: argmax of its logits."""
    if program not in ORACLE:
        opts, _ = PROGRAMS[program]
        so, out = path("oracle", program + ".so"), path("oracle", program)
        ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "-o", so] + opts, timeout=BUILD_TIMEOUT)
        ok([QKC, "run", so, "-i", os.path.join(MODELS, "digits_test_x.npy"), "-d", out])
        ORACLE[program] = load_npy(os.path.join(out, "logits.npy")).argmax(1)
    return ORACLE[program]


def check_classes(got, program):
    want, labels = oracle(program), load_npy(os.path.join(MODELS, "digits_test_y.npy"))
    expect(len(got) == len(want), "%s: %d classes, qkc run gives %d" % (program, len(got), len(want)))
    differ = np.flatnonzero(got != want)
    expect(not len(differ), "%s: %d classes differ from qkc run's (images %s)" % (program, len(differ), differ[:10]))
    acc = float((got == labels).mean())
    expect(acc >= 0.97, "%s: accuracy %.4f against the labels" % (program, acc))
    return acc


def install():
    for d in (STAGE, PREFIX, path("oracle")):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(path("oracle"))
    os.makedirs(MODELS, exist_ok=True)
    for f in ("cnn.onnx", "digits_calib_x.npy", "digits_test_x.npy", "digits_test_y.npy"):
        shutil.copyfile(os.path.join(SRC, "models", f), os.path.join(MODELS, f))
    ok(["cmake", "--install", BUILD, "--prefix", STAGE], timeout=BUILD_TIMEOUT)
    want = ["bin/qkc", LIBDIR + "/libqkrt.so", LIBDIR + "/libqkrt.a", "include/qkc/qkrt.h", "include/qkc/qkrt_abi.h",
            LIBDIR + "/cmake/qkc/qkcConfig.cmake", LIBDIR + "/cmake/qkc/qkcConfigVersion.cmake",
            LIBDIR + "/cmake/qkc/qkcAddModel.cmake", LIBDIR + "/pkgconfig/qkrt.pc", "share/doc/qkc/README.md",
            "share/doc/qkc/usage.md", "share/doc/qkc/runtime.md", "share/qkc/python/qkrt.py"]
    missing = [f for f in want if not os.path.exists(os.path.join(STAGE, f))]
    expect(not missing, "not installed: %s" % missing)
    os.rename(STAGE, PREFIX)
    for d in (LIBDIR + "/cmake/qkc", LIBDIR + "/pkgconfig"):
        for f in os.listdir(os.path.join(PREFIX, d)):
            with open(os.path.join(PREFIX, d, f)) as fh:
                text = fh.read()
            for tree in (STAGE, BUILD, SRC):
                expect(tree not in text, "%s/%s names %s: not relocatable" % (d, f, tree))
    r = ok([os.path.join(PREFIX, "bin", "qkc"), "--version"])
    expect(r.out.startswith("qkc "), "qkc --version: %r" % r.out)
    VERSION.append(r.out.split()[1])
    return r.out.strip()


def exports():
    with open(os.path.join(SRC, "include", "qkc", "qkrt.h")) as f:
        declared = set(re.findall(r"^[A-Za-z_][\w *]*?\b(qkrt_\w+)\(", f.read(), re.M))
    r = ok(["nm", "-D", "--defined-only", os.path.join(PREFIX, LIBDIR, "libqkrt.so")])
    exported = set(line.split()[-1] for line in r.out.splitlines() if line.strip())
    expect(len(declared) >= 20, "qkrt.h: found only %s" % sorted(declared))
    expect(exported == declared, "libqkrt.so exports %s beyond qkrt.h and lacks %s" %
           (sorted(exported - declared), sorted(declared - exported)))
    return "%d functions" % len(declared)


def build_example():
    return ok(["cmake", "--build", EXAMPLE_BUILD], timeout=BUILD_TIMEOUT, env=ENV)


def example():
    shutil.rmtree(EXAMPLE_BUILD, ignore_errors=True)
    ok(["cmake", "-S", EXAMPLE, "-B", EXAMPLE_BUILD, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
        "-DCMAKE_PREFIX_PATH=" + PREFIX, "-DQKC_EXAMPLE_MODELS=" + MODELS], timeout=BUILD_TIMEOUT, env=ENV)
    r = build_example()
    for program, (_, artifact) in PROGRAMS.items():
        expect("qkc: compiling cnn.onnx to " + artifact in r.out, "no qkc step for %s" % artifact, r)
    notes = []
    for program in PROGRAMS:
        got = classes(ok([os.path.join(EXAMPLE_BUILD, program)], env=ENV).out)
        notes.append("%s %.4f" % (program, check_classes(got, program)))
    return ", ".join(notes)


def rebuilt(touched):
    """The artifacts the example's build recompiles after touching a file."""
    os.utime(touched)
    r = build_example()
    return sorted(a for _, a in PROGRAMS.values() if "qkc: compiling cnn.onnx to " + a in r.out)


def rebuilds():
    r = build_example()
    expect("no work to do" in r.out, "a second build did work", r)
    every = sorted(a for _, a in PROGRAMS.values())
    got = rebuilt(os.path.join(MODELS, "digits_calib_x.npy"))
    expect(got == ["cnn_int8.so"], "a new calibration file recompiled %s" % got)
    got = rebuilt(os.path.join(MODELS, "cnn.onnx"))
    expect(got == every, "a new model recompiled %s" % got)
    got = rebuilt(os.path.join(PREFIX, "bin", "qkc"))
    expect(got == every, "a new qkc recompiled %s" % got)


def bad_use():
    cases = [("qkc_add_model(TARGET m)", "TARGET and MODEL are required"),
             ("qkc_add_model(TARGET m MODEL nowhere.onnx)", "nowhere.onnx not found"),
             ("qkc_add_model(TARGET my-model MODEL %s STATIC)" % os.path.join(MODELS, "cnn.onnx"),
              "'my-model' is not a C identifier"),
             ("qkc_add_model(TARGET m MODEL %s PRECISON int8)" % os.path.join(MODELS, "cnn.onnx"),
              "unknown arguments: PRECISON")]
    for i, (call, message) in enumerate(cases):
        src = path("bad%d" % i)
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.25)\nproject(bad LANGUAGES C)\nfind_package(qkc REQUIRED)\n" +
                    call + "\n")
        r = run(["cmake", "-S", src, "-B", os.path.join(src, "build"), "-G", "Ninja",
                 "-DCMAKE_PREFIX_PATH=" + PREFIX], env=ENV)
        said = " ".join(r.err.split())  # CMake wraps its messages
        expect(r.rc != 0 and message in said, "%s: want a failure saying %r" % (call, message), r)


def pkg_config():
    env = dict(ENV, PKG_CONFIG_PATH=os.path.join(PREFIX, LIBDIR, "pkgconfig"))
    r = ok(["pkg-config", "--modversion", "qkrt"], env=env)
    expect(r.out.strip() == VERSION[0], "pkg-config --modversion %r, qkc --version %r" % (r.out.strip(), VERSION[0]))
    flags = ok(["pkg-config", "--cflags", "--libs", "qkrt"], env=env).out.split()
    expect(all(PREFIX in f for f in flags if f.startswith(("-I", "-L"))), "flags outside the prefix: %s" % flags)
    exe, so = path("pc_digits"), path("oracle", "digits.so")
    oracle("digits")
    ok(["cc", "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", os.path.join(EXAMPLE, "main.c"),
        '-DDIGITS_MODEL="%s"' % so, '-DDIGITS_TEST_X="%s"' % os.path.join(MODELS, "digits_test_x.npy"),
        "-o", exe] + flags, env=env)
    got = classes(ok([exe], env=dict(ENV, LD_LIBRARY_PATH=os.path.join(PREFIX, LIBDIR))).out)
    check_classes(got, "digits")
    return " ".join(flags)


def python():
    env = dict(ENV, PYTHONPATH=os.path.join(PREFIX, "share", "qkc", "python"))
    env.pop("QKRT_LIBRARY", None)
    oracle("digits")
    r = ok([sys.executable, "-B", "-c", "import qkrt; print(qkrt._library()._name)"], env=env)
    expect(r.out.startswith(os.path.join(PREFIX, LIBDIR)), "qkrt.py loaded %s" % r.out.strip())
    out = path("python-out")
    ok([sys.executable, "-B", "-m", "qkrt", "run", path("oracle", "digits.so"), "-i",
        os.path.join(MODELS, "digits_test_x.npy"), "-d", out], env=env)
    got, want = load_npy(os.path.join(out, "logits.npy")), load_npy(path("oracle", "digits", "logits.npy"))
    expect(got.dtype == want.dtype and got.tobytes() == want.tobytes(), "python3 -m qkrt run: not qkc run's logits")


VERSION = []  # qkc's, from the installed qkc --version
suite.check("install: the files, relocatable, qkc runs", install)
if VERSION:
    suite.check("libqkrt.so exports qkrt.h's functions only", exports)
    suite.check("examples/cmake: find_package + qkc_add_model, = qkc run", example)
    suite.check("qkc_add_model: rebuilds when model, calibration or qkc change", rebuilds)
    suite.check("qkc_add_model: bad use fails at configure", bad_use)
    suite.check("pkg-config qkrt: main.c builds, = qkc run", pkg_config)
    suite.check("share/qkc/python/qkrt.py: the moved libqkrt, = qkc run", python)
suite.finish()
