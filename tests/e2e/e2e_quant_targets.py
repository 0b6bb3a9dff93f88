#!/usr/bin/python3
"""e2e_quant_targets.py -- int8 is bit-exact everywhere: the same model and
quantization options give the same output bits on every target and CPU, and
the same as the reference interpreter running the lowered int8 graph.

  1. The MLP and the CNN, with the default int8 options and with
     --activations s8, --weights per-tensor, --pow2-scales, --weights log2,
     --smooth 0.5 (SmoothQuant: per-axis entry quantization, scaled weights)
     and --weight-bits 7 (x86 without VNNI: pmaddubsw kernels),
     compiled for x86-64 (the host's own CPU, x86-64-v2, x86-64-v3,
     skylake-avx512: SSE, AVX2 and AVX-512 code paths) and AArch64 (generic,
     and neoverse-n1 for the default and s8 options; run under qemu by
     `qkc run`), run on 48 test images plus 16 stress rows (inputs 4x the
     calibrated range, negative, random, NaN, +-inf, 1e30, -0.0): every
     output equals `qkc interp --precision int8 ...` bit for bit. The
     interpreter of the default variant gets --calib, the artifacts a profile
     of the same data (`qkc calibrate`). The calibration methods percentile,
     entropy and mse: the same on the host CPU and AArch64 generic. x86 CPUs
     this host cannot run and AArch64 without qemu-aarch64 are skipped with
     the reason.
  1b. --precision int8-dynamic of the MLP (every layer a dynamic int8
     Gemm), on the same CPUs: the same bits as
     `qkc interp --precision int8-dynamic`, on 48 images and with the
     stress rows; top-1 as fp32's on the images.
  2. fp16 and bf16 artifacts of both models, on those x86-64 and AArch64 CPUs
     (x86-64-v2 has no F16C, neoverse-n1 computes elementwise ops in native
     fp16, a host with AVX512-BF16 multiplies bf16 on vdpbf16ps; the CPUs'
     kernels sum in different orders), as docs/quantization.md says, agree
     with `qkc interp --precision fp16` (bf16) to within a few units in the
     last place of a half (the interpreter rounds each product sum once,
     kernels accumulate in fp32): the same NaN/inf pattern, every finite
     logit within 2^-8 (bf16: 2^-5) of its sample's largest logit, and at
     most 5% of them not bit-identical.
  2b. bf16 in one artifact for x86-64-v3 and znver4 (--cpu A,B): each
     variant the host runs (QKRT_CPU forces it; znver4's multiplies on
     vdpbf16ps) within bf16 rounding of the interpreter, the others
     refused with the features they lack.
  3. int8, fp16 and bf16 PTX of both models (--target nvptx --emit ptx --cpu sm_80
     / sm_90) pass `ptxas -arch=sm_80 / sm_90` (skipped when ptxas is absent).
  4. Where a CUDA driver and GPU are present, the int8 CNN for nvptx run by
     `qkc run` equals the interpreter bit for bit (skipped otherwise).

    e2e_quant_targets.py QKC SOURCE_DIR WORK_DIR [--ptxas PTXAS] [-v]"""
import json
import os
import platform
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, rest = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
X = os.path.join(MODELS, "digits_test_x.npy")
CALIB = os.path.join(MODELS, "digits_calib_x.npy")
ONNX = {"mlp": os.path.join(MODELS, "mlp.onnx"), "cnn": os.path.join(MODELS, "cnn.onnx")}

VARIANTS = [("default", []), ("s8", ["--activations", "s8"]), ("per-tensor", ["--weights", "per-tensor"]),
            ("pow2", ["--pow2-scales"]), ("log2", ["--weights", "log2"]), ("smooth", ["--smooth", "0.5"]),
            ("w7", ["--weight-bits", "7"])]
# the other calibration methods (other scales, so other requantization
# multipliers): on the host CPU and AArch64 generic only, to stay cheap
CALIB_VARIANTS = [("percentile", ["--calib-method", "percentile"]), ("entropy", ["--calib-method", "entropy"]),
                  ("mse", ["--calib-method", "mse"])]
X86_CPUS = ["native", "x86-64-v2", "x86-64-v3", "skylake-avx512"]
A64_CPUS = {"default": ["generic", "neoverse-n1"], "s8": ["generic", "neoverse-n1"]}  # others: generic only
# /proc/cpuinfo flags each x86 CPU level needs to run here
X86_NEEDS = {
    "x86-64-v2": ["cx16", "popcnt", "sse4_1", "sse4_2", "ssse3"],
    "x86-64-v3": ["cx16", "popcnt", "sse4_1", "sse4_2", "ssse3", "avx", "avx2", "bmi1", "bmi2", "f16c", "fma",
                  "movbe", "abm"],
    "skylake-avx512": ["avx2", "bmi2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"],
}

suite = Suite("e2e_quant_targets")
os.makedirs(os.path.join(WORK, "out"), exist_ok=True)


def path(*p):
    return os.path.join(WORK, *p)


def ptxas_tool():
    if "--ptxas" in rest:
        p = rest[rest.index("--ptxas") + 1]
        if p and os.access(p, os.X_OK):
            return p
    for p in (os.environ.get("QKC_PTXAS"), shutil.which("ptxas"), "/usr/local/cuda/bin/ptxas"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def host_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


FLAGS = host_flags()
X86_MISSING = {cpu: [f for f in X86_NEEDS.get(cpu, []) if f not in FLAGS] for cpu in X86_CPUS}
RUNNABLE_X86 = [cpu for cpu in X86_CPUS if not X86_MISSING[cpu]]


def aarch64_missing():
    qemu = os.environ.get("QKC_QEMU_AARCH64") or shutil.which("qemu-aarch64")
    runner = os.path.join(os.path.dirname(QKC), "qkc-run-aarch64")
    if not qemu:
        return "qemu-aarch64 is not installed"
    if not os.access(runner, os.X_OK):
        return "the cross-built runner %s is missing (no aarch64-linux-gnu-gcc at build time)" % runner
    return None


A64_WHY = aarch64_missing()


def stress_input():
    """48 test images and 16 rows outside anything calibration saw."""
    f = path("inputs.npy")
    if not os.path.exists(f):
        x = load_npy(X)
        rng = np.random.RandomState(7)
        special = x[52:56].copy().reshape(4, -1)
        special[0, :5] = [np.nan, np.inf, -np.inf, 1e30, -0.0]
        special[1, ::3] = np.nan
        special[2, :] = 1e30
        special[3, :] = -np.inf
        rows = [x[:48], 4 * x[48:52], -x[56:60], rng.uniform(-1, 3, (4, 1, 8, 8)), special.reshape(4, 1, 8, 8)]
        np.save(f, np.concatenate(rows).astype(np.float32))
    return f


_profiles = {}


def profile(m):
    """The profile of model m, made once per run (a file left by an older qkc
    may hold other statistics)."""
    if m not in _profiles:
        _profiles[m] = path("%s.qprofile" % m)
        ok([QKC, "calibrate", ONNX[m], "--calib", CALIB, "-o", _profiles[m]])
    return _profiles[m]


def logits_of(cmd, d, env=None):
    """The logits `cmd -d d` writes; None (with the Result) when it fails and env is given."""
    f = os.path.join(d, "logits.npy")
    if os.path.exists(f):
        os.remove(f)
    if env is None:
        ok(cmd + ["-d", d], timeout=120)
        return load_npy(f)
    r = run(cmd + ["-d", d], timeout=120, env=env)
    return (load_npy(f) if r.rc == 0 else None), r


def first_diff(a, b):
    bad = np.argwhere(a.view(np.uint32) != b.view(np.uint32))
    if not len(bad):
        return None
    i = tuple(bad[0])
    return "%d of %d values differ, first at %s: %r vs the interpreter's %r" % (len(bad), a.size, i, a[i], b[i])


# ---- 1. one variant on every CPU vs the interpreter ----------------------------------------------------

def check_host_cpus():
    missing = ["%s (host lacks %s)" % (c, " ".join(f)) for c, f in X86_MISSING.items() if f]
    if missing:
        raise Skip("x86 artifacts not run here: " + ", ".join(missing))
    return "runs " + ", ".join(RUNNABLE_X86)


suite.check("the host runs every x86-64 CPU variant", check_host_cpus)


def check_aarch64_available():
    if A64_WHY:
        raise Skip("AArch64 artifacts not run: " + A64_WHY)


suite.check("qemu-aarch64 and the AArch64 runner are here", check_aarch64_available)


def compare_targets(m, tag, compile_opts, inp, ref, targets):
    """Compile model m with compile_opts for each (arch, cpu), run it on inp:
    the targets whose output is not ref bit for bit, with the first
    difference, and those done."""
    problems, done = [], []
    for arch, cpu in targets:
        so = path("%s-%s-%s.so" % (tag, arch, cpu))
        opts = ["--target", arch] + ([] if cpu == "native" else ["--cpu", cpu])
        ok([QKC, "compile", ONNX[m], "-o", so] + compile_opts + opts)
        got = logits_of([QKC, "run", so, "-i", inp], path("out", "%s-%s-%s" % (tag, arch, cpu)))
        why = first_diff(got, ref) if got.shape == ref.shape else "shape %s" % (got.shape,)
        if why:
            problems.append("%s --cpu %s: %s" % (arch, cpu, why))
        done.append("%s/%s" % (arch, cpu))
    return problems, done


def check_variant(m, vname, vopts):
    inp = stress_input()
    prof = profile(m)
    tag = "%s-%s" % (m, vname)
    calib = ["--calib", CALIB] if vname == "default" else ["--profile", prof]
    ref = logits_of([QKC, "interp", ONNX[m], "-i", inp, "--precision", "int8"] + calib + vopts,
                    path("out", tag + "-interp"))
    expect(ref.shape == (64, 10), "interp logits %s" % (ref.shape,))
    x86 = RUNNABLE_X86 if vname in dict(VARIANTS) else ["native"]
    targets = [("x86_64", c) for c in x86]
    if not A64_WHY:
        targets += [("aarch64", c) for c in A64_CPUS.get(vname, ["generic"])]
    problems, done = compare_targets(m, tag, ["--precision", "int8", "--profile", prof] + vopts, inp, ref, targets)
    expect(not problems, "int8 %s %s: outputs differ from `qkc interp --precision int8 %s`:\n  %s" % (
        m, " ".join(vopts) or "(default options)", " ".join(vopts), "\n  ".join(problems)))
    return "equal on " + ", ".join(done)


for _m in ("cnn", "mlp"):
    for _v, _o in VARIANTS:
        suite.check("%s int8 %s: every x86-64 and AArch64 CPU == qkc interp, bit for bit" % (_m, _v),
                    check_variant, _m, _v, _o)
    for _v, _o in CALIB_VARIANTS:
        suite.check("%s int8 --calib-method %s: host and AArch64 == qkc interp, bit for bit" % (_m, _v),
                    check_variant, _m, _v, _o)


def check_dynamic(m, images_only):
    """--precision int8-dynamic: DynamicQuantizeLinear's run-time ranges and
    MatMulInteger's float epilogue, the same bits everywhere. On the MLP
    every layer is a dynamic int8 Gemm, so nothing in float before a range
    can differ; on the stress rows too (their NaNs are left out of the
    range, their infinities make the scale infinite: defined, if useless)."""
    inp = stress_input()
    if images_only:  # one batch of ordinary images, without the stress rows
        inp = path("images.npy")
        np.save(inp, load_npy(X)[:48])
    tag = "%s-dyn%s" % (m, "-img" if images_only else "")
    ref = logits_of([QKC, "interp", ONNX[m], "-i", inp, "--precision", "int8-dynamic"], path("out", tag + "-interp"))
    targets = [("x86_64", c) for c in RUNNABLE_X86] + ([] if A64_WHY else [("aarch64", "generic"),
                                                                         ("aarch64", "neoverse-n1")])
    problems, done = compare_targets(m, tag, ["--precision", "int8-dynamic"], inp, ref, targets)
    expect(not problems, "int8-dynamic %s: outputs differ from `qkc interp --precision int8-dynamic`:\n  %s" % (
        m, "\n  ".join(problems)))
    if images_only:  # and it is still the model: top-1 as fp32's on these images
        f32 = logits_of([QKC, "interp", ONNX[m], "-i", inp], path("out", tag + "-fp32"))
        agree = float(np.mean(f32.argmax(1) == ref.argmax(1)))
        expect(agree >= 0.97, "int8-dynamic top-1 agrees with fp32 on %.0f%% of the images" % (100 * agree))
        return "equal on %s; top-1 = fp32's on %.0f%%" % (", ".join(done), 100 * agree)
    return "equal on " + ", ".join(done)


suite.check("mlp int8-dynamic: every x86-64 and AArch64 CPU == qkc interp, bit for bit (images)", check_dynamic,
            "mlp", True)
suite.check("mlp int8-dynamic: every x86-64 and AArch64 CPU == qkc interp, bit for bit (with stress rows)",
            check_dynamic, "mlp", False)


def check_weight_bits_kernels():
    """--weight-bits 7 puts the CNN's weights in [-64, 64]: for x86-64-v3
    (AVX2, no VNNI) every microkernel of its int8 report is pmaddubsw's (and
    its kernels' names say c4), with the default 8 bits pmaddwd's; the
    report records the option; top-1 stays fp32's on the test images."""
    kinds = {}
    for bits in ("8", "7"):
        rep, so = path("cnn-w%s.json" % bits), path("cnn-w%s-v3.so" % bits)
        ok([QKC, "compile", ONNX["cnn"], "-o", so, "--precision", "int8", "--profile", profile("cnn"), "--cpu",
            "x86-64-v3", "--weight-bits", bits, "--report", rep])
        with open(rep) as f:
            r = json.load(f)
        expect(r.get("weight_bits") == int(bits), "report weight_bits %r" % r.get("weight_bits"))
        mk = [l["kernel"] for l in r["layers"] if "tiles" in l.get("kernel", "")]
        expect(mk, "no microkernel in the report of --weight-bits %s" % bits)
        kinds[bits] = sorted(set(k.split(", ")[2] for k in mk))
        names = ok(["nm", so]).out
        expect(("c2__x86v256" in names) == (bits == "8"),
               "kernel names of --weight-bits %s: %s" % (bits, sorted(set(re.findall(r"\d+x\d+c\d__x86v\d+", names)))))
    expect(kinds["7"] == ["pmaddubsw (no weight pair can saturate it)"], "--weight-bits 7 kernels: %s" % kinds["7"])
    # (8 bits: layers of full-range weights on pmaddwd; a 1-channel conv
    # pairs each weight with a 0 and may take pmaddubsw either way)
    expect("pmaddwd" in kinds["8"], "--weight-bits 8 kernels: %s" % kinds["8"])
    imgs = path("images.npy")
    np.save(imgs, load_npy(X)[:48])
    f32 = logits_of([QKC, "interp", ONNX["cnn"], "-i", imgs], path("out", "cnn-w7-fp32"))
    q = logits_of([QKC, "interp", ONNX["cnn"], "-i", imgs, "--precision", "int8", "--profile", profile("cnn"),
                   "--weight-bits", "7"], path("out", "cnn-w7-int8"))
    agree = float(np.mean(f32.argmax(1) == q.argmax(1)))
    expect(agree >= 0.97, "--weight-bits 7: top-1 agrees with fp32 on %.0f%% of the images" % (100 * agree))
    return "7 bits: %s; 8 bits: %s; top-1 = fp32's on %.0f%%" % (kinds["7"], kinds["8"], 100 * agree)


suite.check("cnn int8 --weight-bits 7: pmaddubsw kernels on AVX2 (8 bits: pmaddwd)", check_weight_bits_kernels)


# ---- a fat artifact (--cpu portable): each variant this CPU runs == the interpreter ---------------------

PORTABLE = ["x86-64-v2", "x86-64-v3", "x86-64-v4", "cascadelake"]


def check_fat(m):
    """One .so with a variant per CPU level: forced with QKRT_CPU, every
    variant the host can run gives the interpreter's bits; the others are
    refused with the features they need; unforced, the runtime takes the
    most demanding one that runs; under qemu -cpu Nehalem (SSE4.2),
    x86-64-v2's."""
    if platform.machine() != "x86_64":
        raise Skip("x86-64 CPU variants")
    inp = stress_input()
    ref = logits_of([QKC, "interp", ONNX[m], "-i", inp, "--precision", "int8", "--profile", profile(m)],
                    path("out", m + "-fat-interp"))
    so = path("%s-fat.so" % m)
    ok([QKC, "compile", ONNX[m], "-o", so, "--precision", "int8", "--profile", profile(m), "--cpu", "portable"])
    ran, refused = [], []
    for cpu in PORTABLE + [""]:
        got, r = logits_of([QKC, "run", so, "-i", inp], path("out", "%s-fat-%s" % (m, cpu or "auto")),
                           env=dict(os.environ, QKRT_CPU=cpu))
        if got is None:
            expect(cpu and re.search(r"compiled for CPU '%s', which has .*; this CPU does not" % cpu, r.err),
                   "QKRT_CPU=%s: refused without the features it lacks" % cpu, r)
            refused.append(cpu)
            continue
        why = first_diff(got, ref)
        expect(not why, "QKRT_CPU=%s: %s" % (cpu or "(unset)", why))
        ran.append(cpu or "auto")
    expect(len(ran) >= 2, "only %s ran" % ran)
    expect(refused == [c for c in PORTABLE if c not in ran], "refused %s, ran %s" % (refused, ran))
    r = run([QKC, "run", so, "-i", inp, "-d", path("out", m + "-fat-bad")], env=dict(os.environ, QKRT_CPU="znver9"))
    expect(r.rc == 1 and "QKRT_CPU=znver9, but the artifact was compiled for CPU 'cascadelake', 'x86-64-v4', "
           "'x86-64-v3', 'x86-64-v2'" in r.err, "QKRT_CPU naming no variant", r)
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        d = path("out", m + "-fat-nehalem")
        got = logits_of([qemu, "-cpu", "Nehalem", QKC, "run", so, "-i", inp], d)
        why = first_diff(got, ref)
        expect(not why, "under qemu -cpu Nehalem: %s" % why)
        ran.append("qemu Nehalem")
    return "equal on %s; refused %s" % (", ".join(ran), ", ".join(refused) or "none")


for _m in ("cnn", "mlp"):
    suite.check("%s int8 --cpu portable: each variant this CPU runs == qkc interp, bit for bit" % _m, check_fat, _m)


# ---- fp16 and bf16: within rounding of the interpreter on every CPU (docs/quantization.md, "fp16") ------

FP16_TARGETS = [("x86_64", "native"), ("x86_64", "x86-64-v2"), ("x86_64", "x86-64-v3"), ("x86_64", "skylake-avx512"),
                ("aarch64", "generic"), ("aarch64", "neoverse-n1")]  # v2: no F16C; neoverse-n1: FEAT_FP16
# the tolerance, in units of a sample's largest logit: 8 units in the last
# place of an fp16 (11 significant bits) or a bf16 (8)
HALF_TOL = {"fp16": 2.0 ** -8, "bf16": 2.0 ** -5}
_half = {}


def half_outputs(m, prec):
    """fp16 (bf16) artifacts of model m on every runnable target, run on the
    inputs. bf16 on a host with AVX512-BF16 (native) multiplies on vdpbf16ps;
    the other CPUs widen to f32."""
    if (m, prec) not in _half:
        inp = stress_input()
        outs = {}
        for arch, cpu in FP16_TARGETS:
            if (arch == "x86_64" and cpu not in RUNNABLE_X86) or (arch == "aarch64" and A64_WHY):
                continue
            so = path("%s-%s-%s-%s.so" % (m, prec, arch, cpu))
            opts = ["--target", arch] + ([] if cpu == "native" else ["--cpu", cpu])
            ok([QKC, "compile", ONNX[m], "-o", so, "--precision", prec] + opts)
            outs["%s/%s" % (arch, cpu)] = logits_of([QKC, "run", so, "-i", inp],
                                                    path("out", "%s-%s-%s-%s" % (m, prec, arch, cpu)))
        _half[m, prec] = outs
    return _half[m, prec]


def same_bits(a, b):
    """Equal bit for bit, any NaN equal to any NaN (payloads differ by ISA)."""
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def half_interp(m, prec):
    return logits_of([QKC, "interp", ONNX[m], "-i", stress_input(), "--precision", prec],
                     path("out", "%s-%s-interp" % (m, prec)))


def half_vs_interp(m, prec, o, ref, who):
    """o (an artifact's logits) within fp16 (bf16) rounding of the
    interpreter's: the same NaN/inf, and every finite logit within
    HALF_TOL of its sample's largest logit (small ones come out of
    cancellation). Returns how many logits are not bit-identical to it."""
    fin = np.isfinite(ref)
    expect(np.array_equal(fin, np.isfinite(o)) and np.array_equal(np.isnan(ref), np.isnan(o)) and
           np.array_equal(o[np.isinf(ref)], ref[np.isinf(ref)]), "%s %s %s: NaN/inf differ from the interpreter"
           % (prec, m, who))
    rowmax = np.max(np.where(fin, np.abs(ref), 0), axis=1, keepdims=True).astype(np.float64)
    tol = (HALF_TOL[prec] * np.maximum(rowmax, 2.0 ** -14) * np.ones_like(ref, dtype=np.float64))[fin]
    r, g = ref[fin].astype(np.float64), o[fin].astype(np.float64)
    bad = np.argwhere(np.abs(g - r) > tol)
    if len(bad):
        i = int(bad[0][0])
        raise Failure("%s %s %s: %d of %d finite logits differ from `qkc interp --precision %s` by more than "
                      "%g of their sample's largest logit, first %r vs %r" % (
                          prec, m, who, len(bad), r.size, prec, HALF_TOL[prec], g[i], r[i]))
    return int(np.sum(~same_bits(o, ref)))


def check_half_targets(m, prec):
    """Kernels sum in an order that depends on the CPU's vector width (the
    microkernel's tile, vdpbf16ps's pairs), so CPUs may differ in a half's
    last place; each must be within its rounding of the interpreter."""
    outs = half_outputs(m, prec)
    ref = half_interp(m, prec)
    notes = []
    for t, o in outs.items():
        half_vs_interp(m, prec, o, ref, t)
        nb = int(np.sum(~same_bits(o, outs["x86_64/native"])))
        notes.append("%s: %d differ from native" % (t, nb) if nb else t)
    return "within %s rounding of the interpreter: %s" % (prec, ", ".join(notes))


def check_half_interp(m, prec):
    o = half_outputs(m, prec)["x86_64/native"]
    ndiff = half_vs_interp(m, prec, o, half_interp(m, prec), "x86_64/native")
    expect(ndiff <= 0.05 * o.size, "%s %s: %d of %d logits not bit-identical to the interpreter" % (
        prec, m, ndiff, o.size))
    return "%d of %d logits not bit-identical, all within tolerance" % (ndiff, o.size)


for _p in ("fp16", "bf16"):
    for _m in ("cnn", "mlp"):
        suite.check("%s %s: every x86-64 and AArch64 CPU within %s rounding of qkc interp" % (_m, _p, _p),
                    check_half_targets, _m, _p)
        suite.check("%s %s: == qkc interp --precision %s within %s rounding" % (_m, _p, _p, _p),
                    check_half_interp, _m, _p)


def check_bf16_fat(m):
    """bf16 in one .so for x86-64-v3 (bf16 widened for FMAs) and znver4
    (vdpbf16ps): each variant the host runs, forced with QKRT_CPU, is
    within bf16 rounding of the interpreter; one it cannot run is refused
    with the features it lacks."""
    if platform.machine() != "x86_64":
        raise Skip("x86-64 CPU variants")
    so = path("%s-bf16-fat.so" % m)
    ok([QKC, "compile", ONNX[m], "-o", so, "--precision", "bf16", "--cpu", "x86-64-v3,znver4"])
    ref = half_interp(m, "bf16")
    ran, refused = [], []
    for cpu in ("x86-64-v3", "znver4"):
        got, r = logits_of([QKC, "run", so, "-i", stress_input()], path("out", "%s-bf16-fat-%s" % (m, cpu)),
                           env=dict(os.environ, QKRT_CPU=cpu))
        if got is None:
            expect(re.search(r"compiled for CPU '%s', which has .*; this CPU does not" % cpu, r.err),
                   "QKRT_CPU=%s: refused without the features it lacks" % cpu, r)
            refused.append(cpu)
            continue
        half_vs_interp(m, "bf16", got, ref, "fat/" + cpu)
        ran.append(cpu)
    expect("x86-64-v3" in ran or X86_MISSING.get("x86-64-v3"), "x86-64-v3 did not run")
    return "within bf16 rounding on %s; refused %s" % (", ".join(ran) or "none", ", ".join(refused) or "none")


for _m in ("cnn", "mlp"):
    suite.check("%s bf16 --cpu x86-64-v3,znver4: each variant this CPU runs within bf16 rounding of qkc interp" % _m,
                check_bf16_fat, _m)


# ---- 2. PTX through ptxas -------------------------------------------------------------------------------

def check_ptx(m, precision):
    tool = ptxas_tool()
    if not tool:
        raise Skip("ptxas not found (CMake's PTXAS, $QKC_PTXAS, PATH, /usr/local/cuda/bin)")
    opts = ["--precision", precision] + (["--profile", profile(m)] if precision == "int8" else [])
    for sm in ("sm_80", "sm_90"):
        ptx = path("%s-%s-%s.ptx" % (m, precision, sm))
        ok([QKC, "compile", ONNX[m], "--target", "nvptx", "--emit", "ptx", "--cpu", sm, "-o", ptx] + opts)
        with open(ptx) as f:
            text = f.read()
        expect(".entry" in text and (".target %s" % sm) in text, "%s: no kernel entry or no .target %s" % (ptx, sm))
        r = run([tool, "-arch=" + sm, ptx, "-o", path("%s-%s-%s.cubin" % (m, precision, sm))], timeout=120)
        expect(r.rc == 0, "ptxas -arch=%s rejects %s" % (sm, ptx), r)
    return "sm_80 and sm_90 assemble"


for _m in ("cnn", "mlp"):
    for _p in ("int8", "fp16", "bf16"):
        suite.check("%s %s PTX passes ptxas for sm_80 and sm_90" % (_m, _p), check_ptx, _m, _p)


# ---- 3. on a GPU, where there is one -------------------------------------------------------------------

def check_gpu():
    inp = stress_input()
    so = path("cnn-int8-nvptx.so")
    ok([QKC, "compile", ONNX["cnn"], "--target", "nvptx", "-o", so, "--precision", "int8", "--profile", profile("cnn")])
    d = path("out", "cnn-int8-nvptx")
    r = run([QKC, "run", so, "-i", inp, "-d", d], timeout=120)
    if r.rc != 0 and ("no CUDA driver" in r.err or "no usable NVIDIA GPU" in r.err):
        raise Skip("no GPU here: " + r.err.strip().splitlines()[-1])
    expect(r.rc == 0, "qkc run of the nvptx artifact failed", r)
    got = load_npy(os.path.join(d, "logits.npy"))
    ref = logits_of([QKC, "interp", ONNX["cnn"], "-i", inp, "--precision", "int8", "--profile", profile("cnn")],
                    path("out", "cnn-int8-interp-gpu"))
    why = first_diff(got, ref)
    expect(why is None, "int8 CNN on the GPU vs the interpreter: %s" % why)


suite.check("cnn int8 on the GPU (nvptx) == qkc interp, bit for bit", check_gpu)

suite.finish()
