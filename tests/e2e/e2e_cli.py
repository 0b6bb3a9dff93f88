#!/usr/bin/python3
"""e2e_cli.py -- the qkc command line: help texts, exit statuses, and each
command doing its job on the bundled models.

  - `qkc --help` and `qkc COMMAND --help` (and -h) exit 0 and document
    every option that command's parser in tools/qkc.c accepts (read from
    the source, so a new option without help fails here);
  - bad usage exits 2 with a message (no args, no model, no -o, unknown
    option or command, bad numbers, unknown --emit kind or pass);
  - `qkc run` writes DIR/logits.npy (created if needed), equal within the
    interpreter tolerance to `qkc interp`'s, the same with --threads and
    --repeat;
  - `qkc inspect --print-after all` prints the IR after import and after
    every pass of passes/pipeline.c; --print-after PASS only that one;
  - `qkc inspect --dot` on every bundled model: Graphviz renders it, with
    as many op nodes as the text IR has nodes and one node per input and
    output; int8 edges carry the scale and zero point the IR gives; names
    with DOT and XML syntax in them; unwritable files fail with exit 1;
  - `qkc eval --plot` writes an SVG that parses, with one bar per int8
    layer of eval's JSON, in its order and with its SQNR; without --calib,
    none; unwritable files (--plot, --json) fail with exit 1;
  - `qkc interp` writes logits.npy with the test accuracy;
  - `qkc compile --emit` obj/asm/llvm/ptx and --header write their files.

    e2e_cli.py QKC SOURCE_DIR WORK_DIR [-v]"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
CNN, MLP = os.path.join(MODELS, "cnn.onnx"), os.path.join(MODELS, "mlp.onnx")
X, Y = os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy")
COMMANDS = ("compile", "run", "bench", "inspect", "interp", "calibrate", "eval")

suite = Suite("e2e_cli")


def path(*p):
    return os.path.join(WORK, *p)


def quant_options(src):
    """The options of quant_option() in tools/qkc.c by the flag that admits
    them (None: every command calling it takes them)."""
    m = re.search(r"static bool quant_option\(.*?\n\{(.*?)\n\}\n", src, re.S)
    expect(m is not None, "tools/qkc.c: no quant_option() found")
    opts = []
    for line in m.group(1).splitlines():
        for name in re.findall(r'opt_value\(a, "(-[-\w]+)", NULL\)', line) + \
                re.findall(r'strcmp\(s, "(-[-\w]+)"\) == 0', line):
            flag = re.search(r"\b(precision|QO_IO|QO_REPORT)\b", line)
            opts.append((name, flag.group(1) if flag else None))
    expect(len(opts) >= 8, "quant_option(): found only %s" % opts)
    return opts


def source_options():
    """Every option each command's parser accepts, from tools/qkc.c."""
    with open(os.path.join(SRC, "tools", "qkc.c")) as f:
        src = f.read()
    qopts = quant_options(src)
    flags = {"precision": "QO_PRECISION", "QO_IO": "QO_IO", "QO_REPORT": "QO_REPORT"}
    opts = {}
    for cmd in COMMANDS:
        m = re.search(r"static int cmd_%s\(Args \*a\)\n\{(.*?)\n\}\n" % cmd, src, re.S)
        expect(m is not None, "tools/qkc.c: no cmd_%s() found" % cmd)
        body = m.group(1)
        found = set()
        q = re.search(r"quant_option\(a, \"%s\", [^,]+, \w+, \w+, ([^)]*)\)" % cmd, body)
        if q:
            for name, flag in qopts:
                if flag is None or flags[flag] in q.group(1):
                    found.add(name)
        for name, alias in re.findall(r'opt_value\(a, "(-[-\w]+)", (?:"(-[-\w]+)"|NULL)\)', body):
            found.add(name)
            if alias:
                found.add(alias)
        found.update(re.findall(r'strcmp\(s, "(-[-\w]+)"\) == 0', body))
        if re.search(r'strncmp\(s, "-O", 2\)', body):
            found.add("-O0")  # documented as "-O0 .. -O3"
            found.add("-O3")
        expect(len(found) >= 2, "cmd_%s: found only %s in the parser" % (cmd, sorted(found)))
        opts[cmd] = sorted(found)
    return opts


def mentions(text, opt):
    return re.search(r"(?<![-\w])%s(?![-\w])" % re.escape(opt), text) is not None


def usage_error(args, pattern):
    r = run([QKC] + args)
    expect(r.rc == 2, "expected exit status 2 (bad usage)", r)
    expect(re.search(pattern, r.err) is not None, "stderr does not match /%s/" % pattern, r)
    return r.err.strip().splitlines()[0]


def interp_tolerance(got, ref):
    """|got - ref| <= 1e-5 (|ref| + max |ref|), the e2e rule."""
    err = np.abs(got.astype(np.float64) - ref)
    allowed = 1e-5 * (np.abs(ref.astype(np.float64)) + np.abs(ref).max())
    bad = np.argwhere(err > allowed)
    expect(len(bad) == 0, "%d elements beyond the tolerance, first at %s: %r vs %r" % (
        len(bad), bad[0] if len(bad) else None, got[tuple(bad[0])] if len(bad) else None,
        ref[tuple(bad[0])] if len(bad) else None))


# ---- help --------------------------------------------------------------------

def check_main_help():
    for flag in ("--help", "-h"):
        r = ok([QKC, flag])
        for cmd in COMMANDS:
            expect(re.search(r"^\s+%s\b" % cmd, r.out, re.M) is not None, "qkc %s does not list %s" % (flag, cmd), r)
        expect("--version" in r.out, "qkc --help does not document --version", r)
    r = ok([QKC, "--version"])
    expect(re.match(r"qkc \d+\.\d+\.\d+", r.out) is not None, "qkc --version prints %r" % r.out)
    return r.out.strip()


suite.check("qkc --help / -h / --version", check_main_help)

OPTIONS = {}


def check_command_help(cmd):
    if not OPTIONS:
        OPTIONS.update(source_options())
    for flag in ("--help", "-h"):
        r = ok([QKC, cmd, flag])
        expect(r.out.startswith("usage: qkc %s" % cmd), "help of %s does not start with its usage" % cmd, r)
        missing = [o for o in OPTIONS[cmd] if not mentions(r.out, o)]
        expect(not missing, "qkc %s %s does not document %s" % (cmd, flag, ", ".join(missing)), r)
    # help wins wherever it stands
    r = ok([QKC, cmd, "some-model.onnx", "--help"])
    return "documents " + " ".join(OPTIONS[cmd])


for c in COMMANDS:
    suite.check("qkc %s --help documents every option" % c, check_command_help, c)


def check_compile_help_lists():
    r = ok([QKC, "compile", "--help"])
    for t in ("x86_64", "aarch64", "nvptx"):
        expect(t in r.out, "compile --help does not name target %s" % t, r)
    for k in ("so", "obj", "asm", "llvm", "ptx"):
        expect(re.search(r"\b%s\b" % k, r.out), "compile --help does not name --emit %s" % k, r)


suite.check("qkc compile --help names the targets and --emit kinds", check_compile_help_lists)


def pipeline_passes():
    with open(os.path.join(SRC, "passes", "pipeline.c")) as f:
        names = re.findall(r'\{"([\w-]+)", pass_\w+,', f.read())
    expect(len(names) >= 3, "passes/pipeline.c: found passes %s" % names)
    return names


def check_inspect_help_lists_passes():
    r = ok([QKC, "inspect", "--help"])
    missing = [p for p in pipeline_passes() if not re.search(r"^\s+%s\s" % re.escape(p), r.out, re.M)]
    expect(not missing, "inspect --help does not list passes %s" % missing, r)


suite.check("qkc inspect --help lists every pass", check_inspect_help_lists_passes)

# ---- usage errors: exit 2 ----------------------------------------------------------

USAGE = [
    ([], r"usage: qkc"),
    (["frobnicate"], r"unknown command 'frobnicate'"),
    (["compile"], r"no MODEL given"),
    (["compile", MLP], r"no -o OUT given"),
    (["compile", MLP, MLP, "-o", "x.so"], r"one model at a time"),
    (["compile", MLP, "-o", "x.so", "--frob"], r"unknown option '--frob'"),
    (["compile", MLP, "-o"], r"(--output|-o) needs a value"),
    (["compile", MLP, "-o", "x.so", "--batch", "0"], r"--batch: '0' is not a number"),
    (["compile", MLP, "-o", "x.so", "--batch", "two"], r"--batch: 'two' is not a number"),
    (["compile", MLP, "-o", "x.so", "--emit", "exe"], r"--emit exe: use so, obj, asm, llvm or ptx"),
    (["compile", MLP, "-o", "x.so", "--max-const-bytes", "0"], r"--max-const-bytes: '0' is not a byte count"),
    (["compile", MLP, "-o", "x.so", "--max-const-bytes", "9999999999G"], r"--max-const-bytes: '9999999999G' is not"),
    (["inspect", MLP, "--max-const-bytes", "1T"], r"--max-const-bytes: '1T' is not a byte count"),
    (["run"], r"no ARTIFACT given"),
    (["run", "a.so", "--threads", "0"], r"--threads: '0' is not a number"),
    (["run", "a.so", "--bogus"], r"unknown option '--bogus'"),
    (["inspect"], r"no MODEL given"),
    (["inspect", MLP, "--print-after", "nosuchpass"], r"no such pass"),
    (["interp"], r"no MODEL given"),
    (["interp", MLP, "-i", X], r"no --output-dir"),
]
for args, pat in USAGE:
    suite.check("usage error: qkc %s" % " ".join(os.path.basename(a) for a in args), usage_error, args, pat)


def check_compile_bad_target():
    for args, pat in ((["--target", "sparc"], r"sparc"), (["--cpu", "pentium-ultra-9000"], r"pentium-ultra-9000"),
                      (["--header", path("h.h")], r"--header goes with --emit obj"),
                      (["--emit", "ptx"], r"--emit ptx needs --target nvptx")):
        r = run([QKC, "compile", MLP, "-o", path("bad.so")] + args)
        expect(r.rc in (1, 2), "expected a failure for %s" % args, r)
        expect(re.search(pat, r.err), "stderr does not match /%s/" % pat, r)


suite.check("compile: unknown target/cpu, --header without obj, ptx without nvptx", check_compile_bad_target)

# ---- the commands at work ------------------------------------------------------------

CNN_SO = path("cnn.so")


def interp_logits():
    out = path("interp-cnn")
    ok([QKC, "interp", CNN, "--input", X, "--output-dir", out])
    return load_npy(os.path.join(out, "logits.npy"))


def check_run_writes_logits():
    ok([QKC, "compile", CNN, "-o", CNN_SO])
    out = path("run-out", "fresh")  # a new folder, made by qkc run
    os.makedirs(path("run-out"), exist_ok=True)
    if os.path.exists(os.path.join(out, "logits.npy")):
        os.remove(os.path.join(out, "logits.npy"))
    r = ok([QKC, "run", CNN_SO, "--input", X, "--output-dir", out])
    got = load_npy(os.path.join(out, "logits.npy"))
    expect(got.dtype == np.float32 and got.shape == (360, 10), "logits.npy is %s %s" % (got.dtype, got.shape))
    interp_tolerance(got, interp_logits())
    acc = float(np.mean(got.argmax(1) == np.load(Y)))
    expect(acc >= 0.98, "accuracy %.4f" % acc)
    # the other spellings and options give the same numbers
    out2 = path("run-out", "threads")
    ok([QKC, "run", CNN_SO, "-i", "input=" + X, "-d", out2, "--threads", "4", "--repeat", "3"])
    got2 = load_npy(os.path.join(out2, "logits.npy"))
    interp_tolerance(got2, got)
    return "accuracy %.2f%%%s" % (100 * acc, (", stdout: " + r.out.strip()) if r.out.strip() else "")


suite.check("qkc run writes DIR/logits.npy", check_run_writes_logits)


def check_bench():
    """qkc bench: the run count, batch and threads asked for, in the JSON;
    consistent statistics; real inputs set the batch; foreign and missing
    artifacts refused. (Timings themselves are not asserted.)"""
    import json
    if not os.path.exists(CNN_SO):
        ok([QKC, "compile", CNN, "-o", CNN_SO])
    r = ok([QKC, "bench", CNN_SO, "--iters", "20", "--warmup", "2", "--json"])
    j = json.loads(r.out)
    for k in ("median_us", "min_us", "mean_us", "p90_us", "iters", "batch", "threads", "throughput_per_s"):
        expect(k in j, "bench --json has no %s" % k, r)
    expect(j["iters"] == 20 and j["batch"] == 1 and j["threads"] == 1 and j["warmup"] == 2, "bench json %s" % j)
    expect(0 < j["min_us"] <= j["median_us"] <= j["p90_us"], "bench statistics out of order: %s" % j)
    r = ok([QKC, "bench", CNN_SO, "--iters", "5", "--batch", "7", "--threads", "2", "--json"])
    j = json.loads(r.out)
    expect(j["batch"] == 7 and j["threads"] == 2 and j["iters"] == 5, "bench json %s" % j)
    r = ok([QKC, "bench", CNN_SO, "--iters", "3", "-i", X])
    expect("batch 360" in r.out and "median" in r.out, "bench text output", r)
    r = run([QKC, "bench", path("nope.so")])
    expect(r.rc == 1 and "nope.so" in r.err, "bench of a missing artifact", r)
    a64 = path("cnn-a64.so")
    ok([QKC, "compile", CNN, "-o", a64, "--target", "aarch64"])
    r = run([QKC, "bench", a64])
    expect(r.rc == 1 and "AArch64" in r.err, "bench of an AArch64 artifact on x86-64", r)
    r = run([QKC, "bench", CNN_SO, "-i", "nosuch=" + X])
    expect(r.rc == 1 and "nosuch" in r.err, "bench with an unknown input", r)
    return "median %.1f us at batch 7" % j["median_us"]


suite.check("qkc bench", check_bench)


def check_interp():
    logits = interp_logits()
    expect(logits.shape == (360, 10), "interp logits %s" % (logits.shape,))
    acc = float(np.mean(logits.argmax(1) == np.load(Y)))
    expect(acc >= 0.98, "interp accuracy %.4f" % acc)
    out = path("interp-mlp")
    ok([QKC, "interp", MLP, "-i", "input=" + X, "-d", out, "--batch", "360"])
    acc2 = float(np.mean(load_npy(os.path.join(out, "logits.npy")).argmax(1) == np.load(Y)))
    expect(acc2 >= 0.97, "interp mlp accuracy %.4f" % acc2)
    return "cnn %.2f%%, mlp %.2f%%" % (100 * acc, 100 * acc2)


suite.check("qkc interp", check_interp)


def check_inspect_all():
    r = ok([QKC, "inspect", CNN, "--print-after", "all"])
    headers = re.findall(r"^# after ([\w-]+)$", r.out, re.M)
    want = ["import"] + pipeline_passes()
    expect(headers == want, "inspect --print-after all printed %s, want %s" % (headers, want), r)
    expect(re.search(r"^# workspace: \d+ B static \+ \d+ B per batch item", r.out, re.M), "no workspace line", r)
    # BN is gone after bn-fold: the IR dumps do differ between passes
    parts = re.split(r"^# after [\w-]+$", r.out, flags=re.M)
    expect("= BatchNormalization(" in parts[1] and "= BatchNormalization(" not in parts[-1],
           "BatchNormalization nodes not folded away by the last dump", r)
    one = ok([QKC, "inspect", CNN, "--print-after", "fuse"])
    headers = re.findall(r"^# after ([\w-]+)$", one.out, re.M)
    expect(headers == ["import", "fuse"], "inspect --print-after fuse printed %s" % headers, one)
    return " ".join(want)


suite.check("qkc inspect --print-after all prints every pass", check_inspect_all)

# ---- qkc inspect --dot ---------------------------------------------------------------

DOT = "/usr/bin/dot"  # Debian's graphviz (scripts/deps.sh)
CALIB = os.path.join(MODELS, "digits_calib_x.npy")


def ir_counts(model, after, *opts):
    """Nodes, inputs and outputs of the text IR after a pass, and its
    constants' printed values (name -> text)."""
    r = ok([QKC, "inspect", model, "--print-after", after] + list(opts))
    part = r.out.split("# after %s\n" % after, 1)
    expect(len(part) == 2, "no '# after %s' in the inspect output" % after, r)
    lines = part[1].split("\n# workspace")[0].splitlines()
    nodes = [ln for ln in lines if re.match(r"^  (%|_)\S*.* = [\w.]+\(", ln)]
    consts = dict(re.findall(r"^  const  %(\S+): \S+ = \[([^\]]*)\]$", part[1], re.M))
    return (len(nodes), sum(ln.startswith("  input ") for ln in lines), sum(ln.startswith("  output ") for ln in lines),
            consts, nodes)


def render(dot_file):
    """dot -Tsvg: exit 0; the SVG's nodes by title (what Graphviz parsed)."""
    import xml.etree.ElementTree as ET
    if not os.path.exists(DOT):
        raise Skip("no %s (Debian package graphviz)" % DOT)
    svg = dot_file + ".svg"
    r = run([DOT, "-Tsvg", dot_file, "-o", svg])
    expect(r.rc == 0, "dot -Tsvg %s failed" % dot_file, r)
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.parse(svg).getroot()
    titles = [g.find("s:title", ns).text for g in root.iter("{http://www.w3.org/2000/svg}g")
              if g.get("class") == "node"]
    edges = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class") == "edge":
            edges.append((g.find("s:title", ns).text, [t.text or "" for t in g.iter("{http://www.w3.org/2000/svg}text")]))
    labels = {g.find("s:title", ns).text: [t.text or "" for t in g.iter("{http://www.w3.org/2000/svg}text")]
              for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"}
    return titles, edges, labels


def check_dot_counts(model, after, *opts):
    """The graph after `after` (None: the default, the final IR) has a node
    per IR node, input and output, and renders."""
    name = os.path.basename(model).replace(".onnx", "") + "-" + (after or "final") + ("-q" if opts else "")
    f = path(name + ".dot")
    if os.path.exists(f):
        os.remove(f)
    ok([QKC, "inspect", model, "--dot", f] + (["--print-after", after] if after else []) + list(opts))
    titles, edges, labels = render(f)
    nodes, ins, outs, consts, _ = ir_counts(model, after or pipeline_passes()[-1], *opts)
    ops = [t for t in titles if re.match(r"^n\d+$", t)]
    expect(len(ops) == nodes, "%s: the graph has %d op nodes, the IR %d" % (name, len(ops), nodes))
    expect(sum(bool(re.match(r"^i\d+$", t)) for t in titles) == ins, "%s: input nodes" % name)
    expect(sum(bool(re.match(r"^o\d+$", t)) for t in titles) == outs, "%s: output nodes" % name)
    return len(ops), edges, labels, consts


def check_inspect_dot_models():
    done = []
    for m in sorted(os.listdir(MODELS)):
        if m.endswith(".onnx"):
            n, _, _, _ = check_dot_counts(os.path.join(MODELS, m), None)
            done.append("%s %d" % (m, n))
    # after an early pass, and on stdout (the model is not taken for FILE)
    check_dot_counts(CNN, "fuse")
    r = ok([QKC, "inspect", "--dot", CNN, "--print-after", "import"])
    expect(r.out.startswith("digraph") and r.out.rstrip().endswith("}") and "# workspace" not in r.out,
           "inspect --dot without FILE: not one DOT graph on stdout", r)
    r2 = ok([QKC, "inspect", CNN, "--dot=-", "--print-after", "import"])
    expect(r2.out == r.out, "--dot=- and --dot differ")
    return ", ".join(done)


suite.check("qkc inspect --dot: a node per IR node on every bundled model; dot renders it", check_inspect_dot_models)


def check_inspect_dot_int8():
    """int8 CNN: the integer kernels' edges carry their scale and zero point
    (those of the IR's QuantizeLinear/QLinear operands), the weights their
    per-channel scheme; the graph after quantize has its own node count."""
    opts = ("--precision", "int8", "--calib", CALIB)
    n, edges, labels, consts = check_dot_counts(CNN, None, *opts)
    _, _, _, _, lines = ir_counts(CNN, "plan", *opts)
    quant = [e for e in edges if any(re.match(r"^[ui]8\[", t) for t in e[1])]
    expect(len(quant) >= 8, "only %d int8 edges" % len(quant))
    for title, texts in quant:
        expect(any(re.match(r"^scale [\d.e+-]+, zp -?\d+$", t) for t in texts),
               "int8 edge %s has no scale and zero point: %s" % (title, texts))
    # the QuantizeLinear's output: the scale the IR gives it
    q = [ln for ln in lines if "= QuantizeLinear(" in ln]
    expect(len(q) == 1, "int8 CNN: %d QuantizeLinear nodes" % len(q))
    scale_name = re.search(r"QuantizeLinear\(%\S+, %(\S+?),", q[0]).group(1)
    want = float(consts[scale_name])
    qid = [t for t, lab in labels.items() if lab and lab[0] == "QuantizeLinear"]
    expect(len(qid) == 1, "no QuantizeLinear node in the graph: %s" % sorted(labels))
    out = [texts for title, texts in edges if title.startswith(qid[0] + "->")]
    got = [float(m.group(1)) for texts in out for t in texts for m in [re.match(r"^scale ([\d.e+-]+),", t)] if m]
    expect(got and all(abs(g - want) <= 1e-3 * want for g in got),
           "QuantizeLinear's edges say scale %s, the IR %s" % (got, want))
    convs = [lab for lab in labels.values() if lab and lab[0].startswith("QLinearConv")]
    expect(len(convs) == 4 and all(any("per-channel (" in t for t in lab) for lab in convs),
           "QLinearConv labels without their weights' per-channel scheme: %s" % convs)
    expect(all(any(t.startswith("int8 ") for t in lab) for lab in convs), "QLinearConv labels without int8")
    m, _, _, _ = check_dot_counts(CNN, "quantize", *opts)
    return "%d nodes, %d int8 edges; %d nodes after quantize" % (n, len(quant), m)


suite.check("qkc inspect --dot: int8 edges carry scale and zero point", check_inspect_dot_int8)


def check_inspect_dot_names():
    """Names with DOT, HTML and XML syntax (quotes, <>&, braces, |, \\, a
    newline, non-ASCII) reach the rendered graph as text."""
    odd = 'a"b<c>&d\\e{f}|g\nh \u00fc;'
    m = make_model([helper.make_node("Relu", ['in"<&>'], ["x}{|"], name=odd),
                    helper.make_node("Sigmoid", ["x}{|"], ["out\\'"], name="-> [label=x]")],
                   [tensor_info('in"<&>', TensorProto.FLOAT, [1, 4])],
                   [tensor_info("out\\'", TensorProto.FLOAT, [1, 4])])
    f = save(m, path("odd-names.onnx"))
    d = path("odd-names.dot")
    ok([QKC, "inspect", f, "--dot", d, "--print-after", "shape"])  # (later, the two ops fuse into one)
    titles, _, labels = render(d)
    expect(len([t for t in titles if re.match(r"^n\d+$", t)]) == 2, "odd names: node count %s" % titles)
    texts = [t for lab in labels.values() for t in lab]
    for want in (odd.replace("\n", "?"), "-> [label=x]", 'in"<&>', "out\\'"):
        expect(want in texts, "odd names: %r not in the rendered labels %s" % (want, texts))


suite.check("qkc inspect --dot: names are escaped", check_inspect_dot_names)


def check_inspect_dot_errors():
    r = run([QKC, "inspect", CNN, "--dot", path("no-such-dir", "g.dot")])
    expect(r.rc == 1 and "cannot write --dot" in r.err and "no-such-dir" in r.err,
           "--dot into a missing folder: want exit 1 and a message", r)
    ro = path("read-only")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, 0o555)
    try:
        r = run([QKC, "inspect", CNN, "--dot", os.path.join(ro, "g.dot")])
        if os.geteuid() != 0:  # root writes anyway
            expect(r.rc == 1 and "cannot write --dot" in r.err, "--dot into a read-only folder", r)
    finally:
        os.chmod(ro, 0o755)
    r = run([QKC, "inspect", CNN, "--dot", "/dev/full"])
    expect(r.rc == 1 and "cannot write --dot /dev/full" in r.err, "--dot /dev/full (disk full): want exit 1", r)
    usage_error(["inspect", CNN, "--dot", path("x.dot"), "--print-after", "all"], r"--dot draws one graph")
    r = run([QKC, "inspect", path("missing.onnx"), "--dot", path("missing.dot")])
    expect(r.rc == 1 and not os.path.exists(path("missing.dot")), "a failed inspect writes its --dot FILE", r)
    expect(os.path.exists("/dev/full") and not os.path.isfile("/dev/full"), "/dev/full is gone")


suite.check("qkc inspect --dot: unwritable FILE, --print-after all, failed inspect", check_inspect_dot_errors)

# ---- qkc eval --plot -------------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_rects(svg, cls):
    """The <rect class=cls> of an SVG file (parsed by xml.etree) with their titles."""
    import xml.etree.ElementTree as ET
    root = ET.parse(svg).getroot()
    expect(root.tag == SVG_NS + "svg", "%s: the root is %s, not svg" % (svg, root.tag))
    return [(r, r.find(SVG_NS + "title").text) for r in root.iter(SVG_NS + "rect") if r.get("class") == cls]


def check_eval_plot():
    import json
    j, svg = path("eval-cnn.json"), path("eval-cnn.svg")
    for f in (j, svg):
        if os.path.exists(f):
            os.remove(f)
    ok([QKC, "eval", CNN, "--data", X, "--labels", Y, "--calib", CALIB, "--json", j, "--plot", svg], timeout=300)
    with open(j) as f:
        layers = json.load(f)["layers"]
    bars = svg_rects(svg, "bar")
    expect(len(layers) == 7 and len(bars) == len(layers), "%d bars for the %d layers of eval --json" % (
        len(bars), len(layers)))
    for (rect, title), layer in zip(bars, layers):
        want = "%s (%s): %.1f dB" % (layer["layer"], layer["op"], layer["sqnr_db"])
        expect(title == want, "bar %r, want %r (eval --json's layers in order)" % (title, want))
        expect(float(rect.get("height")) > 0, "layer %s: an empty bar" % layer["layer"])
    # a higher SQNR is a taller bar
    hs = sorted((lay["sqnr_db"], float(r.get("height"))) for (r, _), lay in zip(bars, layers))
    expect(all(a[1] <= b[1] for a, b in zip(hs, hs[1:])), "bar heights out of SQNR order: %s" % hs)
    expect(len(svg_rects(svg, "prec-bar")) == 4, "the fp16, bf16, int8 and int8-dynamic SQNR bars")
    # no calibration: no int8 layers, and the row says so; an unwritable
    # --json is exit 1 but does not stop the plot
    svg2 = path("eval-mlp.svg")
    r = run([QKC, "eval", MLP, "--data", X, "--plot", svg2, "--json", path("no-such-dir", "e.json")], timeout=300)
    expect(r.rc == 1 and "cannot write the JSON" in r.err, "--json into a missing folder: want exit 1", r)
    expect(not svg_rects(svg2, "bar"), "eval without --calib drew layer bars")
    with open(svg2) as f:
        expect("no calibration data" in f.read(), "eval --plot without --calib does not say why int8 is missing")
    return "%d layer bars: %s" % (len(bars), ", ".join("%.1f" % lay["sqnr_db"] for lay in layers))


suite.check("qkc eval --plot: an SVG with a bar per int8 layer of the JSON", check_eval_plot)


def check_eval_plot_errors():
    r = run([QKC, "eval", MLP, "--data", X, "--plot", path("no-such-dir", "p.svg")])
    expect(r.rc == 1 and "cannot write the plot" in r.err and "no-such-dir" in r.err,
           "--plot into a missing folder: want exit 1 and a message", r)
    expect("fp32" not in r.out, "--plot into a missing folder: the precisions were compiled first", r)
    r = run([QKC, "eval", MLP, "--data", X, "--plot", "/dev/full"], timeout=300)
    expect(r.rc == 1 and "/dev/full: error: cannot write the plot" in r.err, "--plot /dev/full: want exit 1", r)
    expect(os.path.exists("/dev/full") and not os.path.isfile("/dev/full"), "/dev/full is gone")
    r = run([QKC, "eval", path("missing.onnx"), "--data", X, "--plot", path("missing.svg")])
    expect(r.rc == 1 and not os.path.exists(path("missing.svg")), "a failed eval leaves a --plot FILE", r)


suite.check("qkc eval --plot: unwritable FILE, failed eval", check_eval_plot_errors)


def check_emit_kinds():
    o, h = path("mlp_emit.o"), path("mlp_emit.h")
    ok([QKC, "compile", MLP, "--emit", "obj", "--header", h, "--prefix", "digits", "-o", o])
    with open(o, "rb") as f:
        expect(f.read(4) == b"\x7fELF", "the .o is not ELF")
    with open(h) as f:
        hdr = f.read()
    for needle in ("digits_run", "digits_artifact", "DIGITS_WORKSPACE_BYTES", "DIGITS_INPUT_INPUT_BYTES",
                   "DIGITS_OUTPUT_LOGITS_BYTES"):
        expect(needle in hdr, "the header lacks %s" % needle)
    s = path("mlp.s")
    ok([QKC, "compile", MLP, "--emit", "asm", "-o", s])
    ll = path("mlp.ll")
    ok([QKC, "compile", MLP, "--emit", "llvm", "-o", ll])
    with open(ll) as f:
        expect("define" in f.read(), "the .ll has no function")
    ptx = path("mlp.ptx")
    ok([QKC, "compile", MLP, "--target", "nvptx", "--emit", "ptx", "-o", ptx])
    with open(ptx) as f:
        expect(".entry" in f.read(), "the PTX has no kernel entry")
    r = ok([QKC, "compile", MLP, "-o", path("mlp_v.so"), "-v", "-O1", "--verify"])
    expect("nodes" in r.err, "-v prints no summary", r)


suite.check("qkc compile --emit obj/asm/llvm/ptx, --header, -v", check_emit_kinds)


def check_compile_stages_on_a_terminal():
    """stderr a terminal: the stages in one line rewritten in place, erased
    at the end; not a terminal (every other check): nothing."""
    import pty
    import select
    import subprocess
    out = path("mlp_tty.so")
    master, slave = pty.openpty()
    p = subprocess.Popen([QKC, "compile", MLP, "-o", out], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave)
    os.close(slave)
    data = b""
    while True:
        r, _, _ = select.select([master], [], [], TIMEOUT)
        if not r:
            p.kill()
            raise Failure("qkc compile on a terminal: no end in %d s" % TIMEOUT)
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    expect(p.wait(TIMEOUT) == 0, "qkc compile on a terminal failed: %r" % data)
    text = data.decode("utf-8", "replace")
    stages = re.findall(r"\rqkc: compiling mlp\.onnx: ([a-z, ]+) \(\d+\.\d s\)\x1b\[K", text)
    expect(stages == ["importing, passes", "generating kernels", "optimizing", "emitting code", "linking"],
           "stages shown: %s in %r" % (stages, text))
    expect(text.endswith("\r\x1b[K"), "the line is not erased at the end: %r" % text[-40:])
    r = ok([QKC, "compile", MLP, "-o", out])
    expect(r.err == "", "not a terminal: qkc compile printed %r" % r.err)


suite.check("qkc compile on a terminal shows its stages, elsewhere nothing", check_compile_stages_on_a_terminal)

suite.finish()
