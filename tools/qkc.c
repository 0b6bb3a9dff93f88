/* qkc.c — the command-line driver: compile, run, inspect, interp.
 * Each command parses its options, calls the library (driver.c, run.c)
 * and turns the outcome into an exit status: 0 ok, 1 the input's fault
 * (with a message naming the place), 2 bad usage. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "dot.h"
#include "run.h"
#include "driver.h"
#include "eval.h"
#include "passes/calib.h"
#include "runtime/npy.h"

static const char *usage_main =
    "usage: qkc COMMAND [options]\n"
    "\n"
    "qkc compiles ONNX models ahead of time into small native artifacts: a shared\n"
    "object (or an object file and a C header) with kernels specialized for the\n"
    "model's shapes and weights, for x86-64, AArch64 or NVPTX.\n"
    "\n"
    "commands:\n"
    "  compile MODEL -o OUT   compile a model (.onnx, or .onnxtxt text syntax)\n"
    "  run ARTIFACT ...       run a compiled model on .npy inputs\n"
    "  bench ARTIFACT ...     time a compiled model in process (median, min, throughput)\n"
    "  calibrate MODEL ...    collect int8 calibration statistics (a profile)\n"
    "  eval MODEL ...         compare fp32, fp16, bf16, int8 and int8-dynamic on data\n"
    "                         (accuracy, SQNR, size)\n"
    "  inspect MODEL          print the IR after import and after passes\n"
    "  interp MODEL ...       run a model with the reference interpreter\n"
    "\n"
    "`qkc COMMAND --help` documents each command. `qkc --version` prints the version.\n";

static const char *usage_compile =
    "usage: qkc compile MODEL -o OUT [options]\n"
    "\n"
    "Compile MODEL (binary ONNX, or the ONNX text syntax in a .onnxtxt file) into\n"
    "OUT. The default output is a self-contained shared object that depends on\n"
    "libc only; load it with the runtime (include/qkc/qkrt.h) or `qkc run`.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT       the artifact to write (required)\n"
    "  --target T             x86_64, aarch64 or nvptx (default: this machine)\n"
    "  --cpu NAME             the CPU (or GPU architecture) to generate code for; the\n"
    "                         default is this machine's own CPU when the target is the\n"
    "                         host, else x86-64-v2 / generic / sm_80. A list A,B,...\n"
    "                         (or `portable`: x86-64-v2,x86-64-v3,x86-64-v4,cascadelake)\n"
    "                         makes one fat .so with the model compiled for each; the\n"
    "                         runtime runs the most demanding one the CPU has (QKRT_CPU=\n"
    "                         NAME forces one). Known names:\n"
    "%s"
    "  --emit KIND            so (default): shared object\n"
    "                         obj: object file (with --header, a C header too)\n"
    "                         asm: target assembly;  llvm: LLVM IR (optimized)\n"
    "                         ptx: the PTX alone (nvptx)\n"
    "  --header OUT.h         with --emit obj: a C header declaring <prefix>_run,\n"
    "                         <prefix>_artifact and the input/output sizes\n"
    "  --prefix NAME          symbol prefix for --emit obj (default: OUT's base name)\n"
    "  --batch N              fix the batch dim to N (default: chosen at each run)\n"
    "  --dim NAME=N           fix the symbolic dim NAME (a sequence length, ...) to N;\n"
    "                         every symbolic dim but the leading (batch) one needs it\n"
    "  --bind NAME=FILE.npy   make input NAME a constant with FILE's data (for inputs\n"
    "                         that determine shapes, like a Reshape's target shape)\n"
    "  --max-const-bytes N    the bound on the bytes of constants the model may create\n"
    "                         beyond those its files hold (ConstantOfShape, constant\n"
    "                         folding); default max(256 MiB, 64 x the model's size);\n"
    "                         N may end in K, M or G\n"
    "\n"
    "precision (see docs/quantization.md):\n"
    "  --precision P          fp32 (default), fp16 (half-precision weights and\n"
    "                         activations), bf16 (the same in bfloat16: fp32's\n"
    "                         range, 8 significant bits; matrix products on\n"
    "                         vdpbf16ps where the CPU has AVX512-BF16), int8\n"
    "                         (post-training quantization, calibrated) or\n"
    "                         int8-dynamic (int8 weights; each MatMul and Gemm input\n"
    "                         quantized to u8 at run time from its range in that\n"
    "                         run: no calibration data; for transformers)\n"
    "  --calib DATA           int8 calibration data: one .npy batch (one-input model),\n"
    "                         a directory of .npy batches, or NAME=FILE.npy per input\n"
    "  --profile FILE         reuse a calibration profile (qkc calibrate) instead\n"
    "  --calib-method M       minmax, percentile[=P], entropy or mse\n"
    "                         (default %s: the most accurate on the bundled models)\n"
    "  --calib-engine E       compiled (default: the model compiled for this machine\n"
    "                         collects the statistics, one sample per thread) or\n"
    "                         interp (the reference interpreter: slow, and the same\n"
    "                         profile on every machine)\n"
    "  --calib-threads N      threads of the compiled engine (default: every CPU)\n"
    "  --weights W            per-channel (default), per-tensor, or log2 (signed powers\n"
    "                         of two times the channel's scale)\n"
    "  --weight-bits N        8 (default: weights in [-127, 127]) or 7: also every two\n"
    "                         neighbors along the input channels within [-128, 128]\n"
    "                         together, so on x86 CPUs without VNNI the int8 products\n"
    "                         run on pmaddubsw, about 1.3x faster and still exact;\n"
    "                         costs some accuracy (less than ONNX Runtime's\n"
    "                         reduce_range, whose weights stay in [-64, 64])\n"
    "  --activations A        u8 (default, asymmetric) or s8 (symmetric)\n"
    "  --pow2-scales          every scale a power of two (requantization by shifts)\n"
    "  --smooth ALPHA         SmoothQuant: divide each input channel of a MatMul/Gemm\n"
    "                         by s = max|x|^ALPHA / max|w|^(1-ALPHA) before quantizing\n"
    "                         it and multiply the weights' rows by s (folded at compile\n"
    "                         time): activation outliers move into the weights;\n"
    "                         0 < ALPHA < 1, 0.5 usual; for transformers\n"
    "  --no-bias-correction   keep the float biases as they are (by default each bias\n"
    "                         absorbs the mean error of its rounded weights, measured\n"
    "                         on the calibration data)\n"
    "  --keep-float LIST      nodes (names) or op types to leave in float, comma separated\n"
    "  --io I                 float (default): inputs and outputs stay float (quantized\n"
    "                         on entry, dequantized on exit); int8: they stay u8/i8,\n"
    "                         with their scale and zero point in the artifact and header\n"
    "                         (for pipelines that hold quantized data; also for models\n"
    "                         that come quantized)\n"
    "  --precision mixed      int8, with the layers that hurt most kept in float until\n"
    "                         the floor holds (measured on the --calib data, one .npy):\n"
    "  --min-sqnr DB          output SQNR floor against fp32 (default %g dB)\n"
    "  --labels Y.npy         labels of the calibration samples, for:\n"
    "  --max-accuracy-drop PP accuracy floor, in percentage points\n"
    "  --report FILE.json     the per-layer quantization report (int8, mixed)\n"
    "\n"
    "  -O0 .. -O3             LLVM optimization level (default -O3)\n"
    "  --verify               check the IR after every pass and the LLVM module\n"
    "  -v, --verbose          print a summary and stage times on stderr (without it, a\n"
    "                         terminal shows the stage in progress)\n"
    "\n"
    "An AArch64 artifact runs on this machine through `qkc run` (qemu-aarch64).\n"
    "An nvptx artifact is a host shared object that carries PTX; it runs where an\n"
    "NVIDIA driver is installed.\n";

static const char *usage_run =
    "usage: qkc run ARTIFACT --input [NAME=]FILE.npy ... [--output-dir DIR] [options]\n"
    "\n"
    "Load ARTIFACT through the runtime, run it on the inputs and write each output\n"
    "as DIR/<output name>.npy. The batch size is taken from the inputs' leading dim\n"
    "when the model's batch is dynamic. NAME= may be left out for a model with one\n"
    "input. An AArch64 artifact is run with qemu-aarch64 transparently.\n"
    "\n"
    "options:\n"
    "  -i, --input [NAME=]FILE.npy   an input (repeat for each)\n"
    "  -d, --output-dir DIR          where to write the outputs (created if needed)\n"
    "  --threads N                   threads for the run (default: QKRT_NUM_THREADS or 1)\n"
    "  --repeat N                    run N times (the outputs are from the last run)\n"
    "\n"
    "NumPy has no bfloat16: bfloat16 inputs and outputs are uint16 arrays of their bits.\n";

static const char *usage_bench =
    "usage: qkc bench ARTIFACT [--batch N] [--threads T] [--iters K] [--warmup W]\n"
    "                 [--input [NAME=]FILE.npy ...] [--json]\n"
    "\n"
    "Load ARTIFACT (built for this machine) through the runtime and time runs in\n"
    "process: one context with its workspace reserved, a warm-up, then K runs each\n"
    "timed on its own. Prints the median, minimum, mean and 90th percentile latency\n"
    "and the throughput at the median. Inputs not given are generated (fixed\n"
    "pseudo-random data: floats in [0, 1), small non-negative integers).\n"
    "\n"
    "options:\n"
    "  --batch N              the batch size (default: the inputs', else 1)\n"
    "  --threads T            threads (default: QKRT_NUM_THREADS or 1)\n"
    "  --iters K              timed runs (default: about one second of them)\n"
    "  --warmup W             untimed runs first (default: at least 3, up to 0.1 s)\n"
    "  -i, --input [NAME=]FILE.npy   real data for an input\n"
    "  --json                 one JSON object: median_us, min_us, mean_us, p90_us,\n"
    "                         iters, warmup, batch, threads, throughput_per_s, ...\n"
    "\n"
    "Compare artifacts in the same session, alternating them: the machine's load\n"
    "changes between runs; ratios measured together are what to quote.\n";

static const char *usage_inspect =
    "usage: qkc inspect MODEL [--print-after PASS|all] [--dot [FILE]] [--batch N] [--dim NAME=N]\n"
    "                   [--bind NAME=FILE.npy] [--max-const-bytes N] [--precision fp16|bf16|int8 --calib DATA ...]\n"
    "\n"
    "Print the IR in its text form after import and, with --print-after, after\n"
    "the named pass (or all of them), then the planned workspace size. The\n"
    "options --batch, --dim, --bind, --max-const-bytes and the precision options of qkc\n"
    "compile (--precision fp16|bf16|int8, --calib, --profile, --calib-method, --weights, --weight-bits,\n"
    "--activations, --pow2-scales, --no-bias-correction, --smooth, --keep-float, --io) apply,\n"
    "so the IR shown is the one qkc compile would generate code for. (--precision mixed, with --min-sqnr, --max-accuracy-drop and\n"
    "--labels, chooses layers by compiling trials: inspect its choice with\n"
    "--precision int8 --keep-float LIST.)\n"
    "\n"
    "  --dot [FILE]           write the graph after the pass --print-after names (default:\n"
    "                         the final IR, after the last pass; or import) in Graphviz's\n"
    "                         DOT language instead of the text form, to FILE, or to stdout\n"
    "                         when FILE is left out or is -: a node per IR node (op, name,\n"
    "                         precision and kernel family; on the final IR, the kernel for\n"
    "                         this machine), an edge per value (dtype, shape; scale and zero\n"
    "                         point of int8 values, per tensor or per-channel (N)), inputs\n"
    "                         and outputs as nodes of their own, constants listed in the\n"
    "                         labels of the nodes that read them. Render it with\n"
    "                         `dot -Tsvg FILE -o graph.svg` (Debian package graphviz)\n"
    "\n"
    "Passes, in order:\n"
    "%s";

static const char *usage_calibrate =
    "usage: qkc calibrate MODEL --calib DATA -o OUT.qprofile [--batch N] [--dim NAME=N]\n"
    "       qkc calibrate --merge A.qprofile B.qprofile ... -o OUT.qprofile\n"
    "\n"
    "Run MODEL over calibration data and write the statistics of every float\n"
    "tensor (ranges and histograms with fixed bins) as a versioned JSON profile;\n"
    "`qkc compile --precision int8 --profile OUT.qprofile` then needs no data.\n"
    "The model runs compiled for this machine, one sample per thread (or with the\n"
    "reference interpreter: --calib-engine interp). Profiles of the same model\n"
    "from different data shards merge exactly: the result does not depend on\n"
    "batch sizes, order, threads or sharding (with the compiled engine, on the\n"
    "same machine; with the interpreter, on any).\n"
    "\n"
    "options:\n"
    "  --calib DATA           one .npy batch (one-input model), a directory of .npy\n"
    "                         batches, or NAME=FILE.npy per input (repeatable)\n"
    "  -o, --output OUT       the profile to write\n"
    "  --merge                merge the given profiles instead\n"
    "  --calib-engine E       compiled (default) or interp\n"
    "  --calib-threads N      threads of the compiled engine (default: every CPU)\n"
    "  --batch N              fix the model's batch dim (as for qkc compile)\n"
    "  --dim NAME=N           fix a named symbolic dim (as for qkc compile)\n"
    "  --max-const-bytes N    the bound on constants the model may create (as for\n"
    "                         qkc compile)\n";

static const char *usage_eval =
    "usage: qkc eval MODEL --data X.npy [--labels Y.npy] [--calib DATA] [--json FILE] [--plot FILE.svg]\n"
    "                [options]\n"
    "\n"
    "Compile MODEL in fp32, fp16, bf16, int8 (default quantization options, or those\n"
    "given) and int8-dynamic (no data needed) for this machine, run each artifact\n"
    "on X and print one table: accuracy\n"
    "(with labels), top-1 agreement with fp32, output SQNR and max abs error against\n"
    "fp32, artifact size and compile time (on the first float output; top-1 over\n"
    "its last axis: per sample, or per token); then, for int8, a table per layer\n"
    "(scheme, weight scales, the layer's output SQNR on X, the kernel) and the ops\n"
    "left in float, with why. Layers with an SQNR under 20 dB are named on stderr.\n"
    "\n"
    "options:\n"
    "  --data X.npy           the model's input, all samples; NAME=X.npy for each\n"
    "                         input of a model with several (token ids, masks)\n"
    "  --labels Y.npy         i64 labels, one per sample: adds accuracy\n"
    "  --calib DATA           int8 calibration data (as for qkc compile); without it the\n"
    "                         int8 row is left out\n"
    "  --profile FILE, --calib-method M, --weights W, --weight-bits N, --activations A, --pow2-scales,\n"
    "  --no-bias-correction, --smooth ALPHA, --keep-float LIST\n"
    "                         int8 options, as for qkc compile\n"
    "  --dim NAME=N           fix a named symbolic dim (as for qkc compile)\n"
    "  --max-const-bytes N    the bound on constants the model may create (as for\n"
    "                         qkc compile)\n"
    "  --json FILE            the tables as JSON too\n"
    "  --plot FILE.svg        the tables drawn as an SVG too: accuracy, agreement and\n"
    "                         output SQNR per precision, and a bar per int8 layer (its\n"
    "                         SQNR, in graph order, named; red under 20 dB)\n";

static const char *usage_interp =
    "usage: qkc interp MODEL --input [NAME=]FILE.npy ... --output-dir DIR [--batch N]\n"
    "                  [--lowered] [--precision P --calib DATA ...]\n"
    "\n"
    "Run MODEL with the reference interpreter (the plain-C oracle every compiled\n"
    "kernel is tested against) and write DIR/<output name>.npy for each output.\n"
    "By default it runs the model as imported (ONNX semantics). With --lowered, or\n"
    "with any precision option of qkc compile (--precision, --calib, --profile,\n"
    "--calib-method, --weights, --weight-bits, --activations, --pow2-scales, --no-bias-correction, --smooth,\n"
    "--keep-float, --io), it runs the graph after qkc's passes: the one qkc compile\n"
    "generates code for, so a compiled int8 model must match it bit for bit.\n"
    "(--precision mixed, --min-sqnr, --max-accuracy-drop, --labels: as for qkc\n"
    "inspect, give the layers it keeps with --precision int8 --keep-float LIST.)\n"
    "\n"
    "options:\n"
    "  -i, --input [NAME=]FILE.npy   an input (repeat for each; NAME= may be left out\n"
    "                                for a model with one input)\n"
    "  -d, --output-dir DIR          where to write the outputs (created if needed)\n"
    "  --batch N                     fix the batch dim to N (else the inputs' own)\n"
    "  --dim NAME=N                  fix a named symbolic dim (as for qkc compile)\n"
    "  --max-const-bytes N           the bound on constants the model may create (as\n"
    "                                for qkc compile)\n";

typedef struct Args {
    int argc, i;
    char **argv;
} Args;

/* Lists of repeated options (--bind, --input), owned here so that every
 * exit path (including exit(2) on bad usage) leaves nothing unreachable. */
static const char **lists[8];
static int nlists;

static const char **list_new(int argc)
{
    const char **l = calloc((size_t)argc + 1, sizeof *l);
    if (!l || nlists == 8) {
        fprintf(stderr, "qkc: out of memory\n");
        exit(1);
    }
    return lists[nlists++] = l;
}

/* "a,b,c" into list (pointers into a copy kept with the lists). */
static void split_list(const char *v, const char **list, int *n, int max)
{
    char *copy = strdup(v);
    if (!copy || nlists == 8)
        return;
    lists[nlists++] = (const char **)(void *)copy;
    for (char *tok = strtok(copy, ","); tok && *n < max; tok = strtok(NULL, ","))
        if (*tok)
            list[(*n)++] = tok;
}

static void lists_free(void)
{
    for (int i = 0; i < nlists; i++)
        free(lists[i]);
    nlists = 0;
}

static bool is_help(const char *s) { return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0; }

/* A model file by its name (.onnx, .onnxtxt): what an optional value must not swallow. */
static bool is_model_path(const char *s)
{
    size_t n = strlen(s);
    return (n > 5 && strcmp(s + n - 5, ".onnx") == 0) || (n > 8 && strcmp(s + n - 8, ".onnxtxt") == 0);
}

/* The value of an option: "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(Args *a, const char *name, const char *alias)
{
    const char *s = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(s, name, n) == 0 && s[n] == '=')
        return s + n + 1;
    if (strcmp(s, name) == 0 || (alias && strcmp(s, alias) == 0)) {
        if (a->i + 1 >= a->argc) {
            fprintf(stderr, "qkc: %s needs a value\n", name);
            exit(2);
        }
        return a->argv[++a->i];
    }
    return NULL;
}

static double parse_double(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi)) {
        fprintf(stderr, "qkc: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        exit(2);
    }
    return v;
}

static int64_t parse_int(const char *opt, const char *s, int64_t lo, int64_t hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "qkc: %s: '%s' is not a number in [%lld, %lld]\n", opt, s, (long long)lo, (long long)hi);
        exit(2);
    }
    return v;
}

/* A byte count: digits with an optional K, M or G suffix (binary units). */
static int64_t parse_bytes(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (errno || *end || end == s || v < 1 || v > (INT64_MAX >> shift)) {
        fprintf(stderr, "qkc: %s: '%s' is not a byte count (a positive integer, optionally with K, M or G)\n", opt, s);
        exit(2);
    }
    return (int64_t)v << shift;
}

static void unknown(const char *cmd, const char *s)
{
    fprintf(stderr, "qkc %s: unknown option '%s' (see qkc %s --help)\n", cmd, s, cmd);
    exit(2);
}

/* Which of the quantization options a command takes: all take the ones
 * that say how to quantize; QO_PRECISION adds --precision and the mixed
 * precision floors (eval compares the precisions itself), QO_IO --io and
 * QO_REPORT --report (compile). */
enum { QO_PRECISION = 1, QO_IO = 2, QO_REPORT = 4 };

/* --calib-engine E and --calib-threads N (compile, eval, calibrate, ...):
 * true when a->argv[a->i] was one of them; a bad value exits with 2. */
static bool calib_engine_option(Args *a, const char *cmd, DriverOptions *o)
{
    const char *v;
    if ((v = opt_value(a, "--calib-engine", NULL))) {
        if (strcmp(v, "compiled") != 0 && strcmp(v, "interp") != 0) {
            fprintf(stderr, "qkc %s: --calib-engine %s: use compiled or interp\n", cmd, v);
            exit(2);
        }
        o->calib_interp = strcmp(v, "interp") == 0;
    } else if ((v = opt_value(a, "--calib-threads", NULL))) {
        o->calib_threads = (int)parse_int("--calib-threads", v, 1, 1024);
    } else {
        return false;
    }
    return true;
}

/* The options that choose a precision and how to quantize, shared by
 * compile, inspect, interp and eval. True when a->argv[a->i] was one of
 * them (its value consumed); a bad value exits with status 2. */
static bool quant_option(Args *a, const char *cmd, DriverOptions *o, const char **calib, const char **keep,
                         unsigned what)
{
    bool precision = what & QO_PRECISION;
    const char *s = a->argv[a->i], *v;
    if (precision && (v = opt_value(a, "--precision", NULL))) {
        static const char *names[] = {"fp32", "fp16", "int8", "mixed", "int8-dynamic", "bf16"}; /* as Precision */
        int k = 0;
        while (k < 6 && strcmp(names[k], v) != 0)
            k++;
        if (k == 6) {
            fprintf(stderr, "qkc %s: --precision %s: use fp32, fp16, bf16, int8, int8-dynamic or mixed\n", cmd, v);
            exit(2);
        }
        o->precision = (Precision)k;
    } else if ((v = opt_value(a, "--calib", NULL))) {
        calib[o->ncalib++] = v;
    } else if ((v = opt_value(a, "--profile", NULL))) {
        o->profile = v;
    } else if ((v = opt_value(a, "--calib-method", NULL))) {
        CalibOptions co;
        calib_options_default(&co);
        if (!calib_options_parse(&co, v)) {
            fprintf(stderr, "qkc %s: --calib-method %s: use minmax, percentile[=P] (0 < P <= 100), entropy or mse\n",
                    cmd, v);
            exit(2);
        }
        o->calib_method = v;
    } else if (calib_engine_option(a, cmd, o)) {
    } else if ((v = opt_value(a, "--weights", NULL))) {
        o->weights_per_tensor = strcmp(v, "per-tensor") == 0;
        o->weights_log2 = strcmp(v, "log2") == 0;
        if (!o->weights_per_tensor && !o->weights_log2 && strcmp(v, "per-channel") != 0) {
            fprintf(stderr, "qkc %s: --weights %s: use per-channel, per-tensor or log2\n", cmd, v);
            exit(2);
        }
    } else if ((v = opt_value(a, "--weight-bits", NULL))) {
        if (strcmp(v, "7") != 0 && strcmp(v, "8") != 0) {
            fprintf(stderr, "qkc %s: --weight-bits %s: use 7 or 8\n", cmd, v);
            exit(2);
        }
        o->weight_bits = atoi(v);
    } else if ((v = opt_value(a, "--activations", NULL))) {
        if (strcmp(v, "u8") != 0 && strcmp(v, "s8") != 0) {
            fprintf(stderr, "qkc %s: --activations %s: use u8 or s8\n", cmd, v);
            exit(2);
        }
        o->act_s8 = strcmp(v, "s8") == 0;
    } else if (strcmp(s, "--pow2-scales") == 0) {
        o->pow2 = true;
    } else if (strcmp(s, "--no-bias-correction") == 0) {
        o->no_bias_correction = true;
    } else if ((v = opt_value(a, "--smooth", NULL))) {
        char *end;
        double alpha = strtod(v, &end);
        if (end == v || *end || !(alpha > 0 && alpha < 1)) {
            fprintf(stderr, "qkc %s: --smooth %s: want a number between 0 and 1 (SmoothQuant's alpha; 0.5 is "
                            "usual)\n", cmd, v);
            exit(2);
        }
        o->smooth = alpha;
    } else if ((what & QO_IO) && (v = opt_value(a, "--io", NULL))) {
        if (strcmp(v, "float") != 0 && strcmp(v, "int8") != 0) {
            fprintf(stderr, "qkc %s: --io %s: use float or int8\n", cmd, v);
            exit(2);
        }
        o->io_int8 = strcmp(v, "int8") == 0;
    } else if ((v = opt_value(a, "--keep-float", NULL))) {
        split_list(v, keep, &o->nkeep, a->argc * 8);
    } else if (precision && (v = opt_value(a, "--min-sqnr", NULL))) {
        o->min_sqnr = parse_double("--min-sqnr", v, 0, 200);
    } else if (precision && (v = opt_value(a, "--max-accuracy-drop", NULL))) {
        o->max_accuracy_drop = parse_double("--max-accuracy-drop", v, 0, 100);
    } else if (precision && (v = opt_value(a, "--labels", NULL))) {
        o->labels = v;
    } else if ((what & QO_REPORT) && (v = opt_value(a, "--report", NULL))) {
        o->report = v;
    } else {
        return false;
    }
    return true;
}

/* The precision options' consistency, after parsing. */
static bool quant_options_check(const char *cmd, const DriverOptions *o)
{
    bool quant = o->precision == PREC_INT8 || o->precision == PREC_MIXED;
    if (o->smooth && !quant && o->precision != PREC_INT8_DYNAMIC) {
        fprintf(stderr, "qkc %s: --smooth goes with --precision int8 or mixed\n", cmd);
        return false;
    }
    if (!quant && (o->ncalib || o->profile)) {
        fprintf(stderr, "qkc %s: --calib and --profile go with --precision int8 or mixed\n", cmd);
        return false;
    }
    if (o->ncalib && o->profile) {
        fprintf(stderr, "qkc %s: give --calib DATA or --profile FILE, not both\n", cmd);
        return false;
    }
    if (o->precision == PREC_INT8_DYNAMIC && (o->act_s8 || o->pow2 || o->io_int8 || o->report || o->smooth)) {
        fprintf(stderr, "qkc %s: --precision int8-dynamic quantizes activations to u8 with scales computed at run "
                        "time: --activations s8, --pow2-scales, --io int8, --smooth and --report go with int8 or "
                        "mixed\n", cmd);
        return false;
    }
    if (o->precision != PREC_MIXED && (o->min_sqnr || o->max_accuracy_drop || o->labels)) {
        fprintf(stderr, "qkc %s: --min-sqnr, --max-accuracy-drop and --labels go with --precision mixed\n", cmd);
        return false;
    }
    return true;
}

static char *cpu_list(void)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (f) {
        cg_target_print_cpus(f);
        fclose(f);
    }
    /* indent for the help text */
    char *out = malloc(n * 2 + 64);
    size_t k = 0;
    for (char *line = s; line && *line;) {
        char *e = strchr(line, '\n');
        size_t len = e ? (size_t)(e - line) : strlen(line);
        k += (size_t)sprintf(out + k, "                       %.*s\n", (int)len, line);
        line = e ? e + 1 : line + len;
    }
    out[k] = 0;
    free(s);
    return out;
}

static int cmd_compile(Args *a)
{
    const char **dims = list_new(a->argc);
    DriverOptions o = {.emit = EMIT_SO, .opt_level = 3, .dump = stdout};
    const char *model = NULL, *v;
    const char **binds = list_new(a->argc), **calib = list_new(a->argc), **keep = list_new(a->argc * 8);
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            char *cpus = cpu_list();
            printf(usage_compile, cpus, QKC_DEFAULT_CALIB, QKC_DEFAULT_MIN_SQNR);
            free(cpus);
            return 0;
        } else if ((v = opt_value(a, "--output", "-o"))) {
            o.out = v;
        } else if ((v = opt_value(a, "--target", NULL))) {
            o.target = v;
        } else if ((v = opt_value(a, "--cpu", NULL))) {
            o.cpu = v;
        } else if ((v = opt_value(a, "--emit", NULL))) {
            static const char *kinds[] = {"so", "obj", "asm", "llvm", "ptx"};
            int k = 0;
            while (k < 5 && strcmp(kinds[k], v) != 0)
                k++;
            if (k == 5) {
                fprintf(stderr, "qkc compile: --emit %s: use so, obj, asm, llvm or ptx\n", v);
                return 2;
            }
            o.emit = (EmitKind)k;
        } else if ((v = opt_value(a, "--header", NULL))) {
            o.header = v;
        } else if ((v = opt_value(a, "--prefix", NULL))) {
            o.prefix = v;
        } else if ((v = opt_value(a, "--batch", NULL))) {
            o.batch = parse_int("--batch", v, 1, INT32_MAX);
        } else if ((v = opt_value(a, "--bind", NULL))) {
            binds[o.nbind++] = v;
        } else if ((v = opt_value(a, "--dim", NULL))) {
            dims[o.ndim++] = v;
        } else if ((v = opt_value(a, "--max-const-bytes", NULL))) {
            o.max_const_bytes = parse_bytes("--max-const-bytes", v);
        } else if (quant_option(a, "compile", &o, calib, keep, QO_PRECISION | QO_IO | QO_REPORT)) {
            continue;
        } else if (strncmp(s, "-O", 2) == 0 && s[2] >= '0' && s[2] <= '3' && !s[3]) {
            o.opt_level = s[2] - '0';
        } else if (strcmp(s, "--verify") == 0) {
            o.verify = true;
        } else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0) {
            o.verbose = true;
        } else if (s[0] == '-' && s[1]) {
            unknown("compile", s);
        } else if (!model) {
            model = s;
        } else {
            fprintf(stderr, "qkc compile: one model at a time ('%s' and '%s')\n", model, s);
            return 2;
        }
    }
    o.dims = dims;
    o.binds = binds;
    o.calib = calib;
    o.keep = keep;
    if (!quant_options_check("compile", &o))
        return 2;
    if (!model || !o.out) {
        fprintf(stderr, "qkc compile: %s (see qkc compile --help)\n", !model ? "no MODEL given" : "no -o OUT given");
        return 2;
    }
    o.dump = NULL;
    Diag d;
    diag_init(&d, stderr);
    bool ok = drv_compile(model, &o, &d);
    diag_fini(&d);
    return ok ? 0 : 1;
}

/* The directory of this executable (to find qkc-run-aarch64). */
static bool self_dir(char *buf, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0)
        return false;
    buf[k] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return false;
    *slash = 0;
    return true;
}

/* AArch64 artifacts on another host: the cross-built runner under qemu. */
static int run_foreign(const RunArgs *r)
{
    char dir[PATH_MAX], runner[PATH_MAX + 32];
    if (!self_dir(dir, sizeof dir)) {
        fprintf(stderr, "qkc run: cannot locate qkc-run-aarch64\n");
        return 1;
    }
    snprintf(runner, sizeof runner, "%s/qkc-run-aarch64", dir);
    const char *qemu = getenv("QKC_QEMU_AARCH64");
    if (!qemu || !*qemu)
        qemu = QKC_QEMU_AARCH64;
    if (access(runner, X_OK) != 0 || !*qemu || access(qemu, X_OK) != 0) {
        fprintf(stderr, "qkc run: %s is an AArch64 artifact; running it here needs qemu-aarch64 (%s) and %s\n",
                r->artifact, *qemu ? qemu : "not found", runner);
        return 1;
    }
    char threads[16], repeat[16];
    snprintf(threads, sizeof threads, "%d", r->threads);
    snprintf(repeat, sizeof repeat, "%d", r->repeat);
    char **argv = calloc((size_t)r->ninputs + 12, sizeof *argv);
    int k = 0;
    argv[k++] = (char *)qemu;
    argv[k++] = "-L";
    argv[k++] = QKC_AARCH64_SYSROOT;
    argv[k++] = runner;
    argv[k++] = (char *)r->artifact;
    argv[k++] = (char *)(r->output_dir ? r->output_dir : "");
    argv[k++] = threads;
    argv[k++] = repeat;
    for (int i = 0; i < r->ninputs; i++)
        argv[k++] = (char *)r->input_specs[i];
    argv[k] = NULL;
    fflush(stdout);
    execv(qemu, argv);
    fprintf(stderr, "qkc run: cannot start %s: %s\n", qemu, strerror(errno));
    return 1;
}

static int cmd_run(Args *a)
{
    RunArgs r = {.repeat = 1};
    const char **inputs = list_new(a->argc);
    const char *v;
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            fputs(usage_run, stdout);
            return 0;
        } else if ((v = opt_value(a, "--input", "-i"))) {
            inputs[r.ninputs++] = v;
        } else if ((v = opt_value(a, "--output-dir", "-d"))) {
            r.output_dir = v;
        } else if ((v = opt_value(a, "--threads", NULL))) {
            r.threads = (int)parse_int("--threads", v, 1, 1024);
        } else if ((v = opt_value(a, "--repeat", NULL))) {
            r.repeat = (int)parse_int("--repeat", v, 1, 1000000000);
        } else if (s[0] == '-' && s[1]) {
            unknown("run", s);
        } else if (!r.artifact) {
            r.artifact = s;
        } else {
            fprintf(stderr, "qkc run: one artifact at a time\n");
            return 2;
        }
    }
    r.input_specs = inputs;
    if (!r.artifact) {
        fprintf(stderr, "qkc run: no ARTIFACT given (see qkc run --help)\n");
        return 2;
    }
    int machine = run_elf_machine(r.artifact);
    int host = strcmp(cg_host_arch(), "x86_64") == 0 ? 62 : 183;
    return (machine == 62 || machine == 183) && machine != host ? run_foreign(&r) : run_artifact(&r, stderr);
}

static int cmd_bench(Args *a)
{
    BenchArgs b = {.warmup = -1};
    const char **inputs = list_new(a->argc);
    const char *v;
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            fputs(usage_bench, stdout);
            return 0;
        } else if ((v = opt_value(a, "--input", "-i"))) {
            inputs[b.ninputs++] = v;
        } else if ((v = opt_value(a, "--batch", NULL))) {
            b.batch = parse_int("--batch", v, 1, INT32_MAX);
        } else if ((v = opt_value(a, "--threads", NULL))) {
            b.threads = (int)parse_int("--threads", v, 1, 1024);
        } else if ((v = opt_value(a, "--iters", NULL))) {
            b.iters = (int)parse_int("--iters", v, 1, 100000000);
        } else if ((v = opt_value(a, "--warmup", NULL))) {
            b.warmup = (int)parse_int("--warmup", v, 0, 100000000);
        } else if (strcmp(s, "--json") == 0) {
            b.json = 1;
        } else if (s[0] == '-' && s[1]) {
            unknown("bench", s);
        } else if (!b.artifact) {
            b.artifact = s;
        } else {
            fprintf(stderr, "qkc bench: one artifact at a time\n");
            return 2;
        }
    }
    b.input_specs = inputs;
    if (!b.artifact) {
        fprintf(stderr, "qkc bench: no ARTIFACT given (see qkc bench --help)\n");
        return 2;
    }
    int machine = run_elf_machine(b.artifact);
    int host = strcmp(cg_host_arch(), "x86_64") == 0 ? 62 : 183;
    if ((machine == 62 || machine == 183) && machine != host) {
        fprintf(stderr, "qkc bench: %s is an artifact for %s; timings under emulation mean nothing: bench it "
                        "on its own machine\n", b.artifact, machine == 183 ? "AArch64" : "x86-64");
        return 1;
    }
    return bench_artifact(&b, stdout, stderr);
}

static int cmd_calibrate(Args *a)
{
    const char **dims = list_new(a->argc);
    DriverOptions o = {0};
    const char *v, *out = NULL, *model = NULL;
    const char **calib = list_new(a->argc), **merge = list_new(a->argc);
    int nmerge = 0;
    bool merging = false;
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            fputs(usage_calibrate, stdout);
            return 0;
        } else if ((v = opt_value(a, "--calib", NULL))) {
            calib[o.ncalib++] = v;
        } else if ((v = opt_value(a, "--output", "-o"))) {
            out = v;
        } else if ((v = opt_value(a, "--batch", NULL))) {
            o.batch = parse_int("--batch", v, 1, INT32_MAX);
        } else if ((v = opt_value(a, "--dim", NULL))) {
            dims[o.ndim++] = v;
        } else if ((v = opt_value(a, "--max-const-bytes", NULL))) {
            o.max_const_bytes = parse_bytes("--max-const-bytes", v);
        } else if (calib_engine_option(a, "calibrate", &o)) {
        } else if (strcmp(s, "--merge") == 0) {
            merging = true;
        } else if (s[0] == '-' && s[1]) {
            unknown("calibrate", s);
        } else if (merging) {
            merge[nmerge++] = s;
        } else if (!model) {
            model = s;
        } else {
            fprintf(stderr, "qkc calibrate: one model at a time\n");
            return 2;
        }
    }
    o.dims = dims;
    o.calib = calib;
    if (!out || (merging ? nmerge < 1 : !model)) {
        fprintf(stderr, "qkc calibrate: %s (see qkc calibrate --help)\n",
                !out ? "no -o OUT given" : merging ? "nothing to merge" : "no MODEL given");
        return 2;
    }
    Diag d;
    diag_init(&d, stderr);
    bool ok;
    if (merging) {
        CalibProfile acc, next;
        ok = profile_read(merge[0], &acc, &d);
        for (int i = 1; ok && i < nmerge; i++) {
            ok = profile_read(merge[i], &next, &d) && profile_merge(&acc, &next, &d);
            profile_free(&next);
        }
        ok = ok && profile_write(&acc, out, &d);
        profile_free(&acc);
    } else {
        ok = drv_calibrate(model, &o, out, &d);
    }
    diag_fini(&d);
    return ok ? 0 : 1;
}

static int cmd_eval(Args *a)
{
    const char **dims = list_new(a->argc);
    EvalOptions e = {0};
    DriverOptions *o = &e.base;
    const char *model = NULL, *v;
    const char **calib = list_new(a->argc), **keep = list_new(a->argc * 8), **data = list_new(a->argc);
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            fputs(usage_eval, stdout);
            return 0;
        } else if ((v = opt_value(a, "--data", NULL))) {
            data[e.ndata++] = v;
        } else if ((v = opt_value(a, "--labels", NULL))) {
            e.labels = v;
        } else if ((v = opt_value(a, "--json", NULL))) {
            e.json = v;
        } else if ((v = opt_value(a, "--plot", NULL))) {
            e.plot = v;
        } else if ((v = opt_value(a, "--dim", NULL))) {
            dims[o->ndim++] = v;
        } else if ((v = opt_value(a, "--max-const-bytes", NULL))) {
            o->max_const_bytes = parse_bytes("--max-const-bytes", v);
        } else if (quant_option(a, "eval", o, calib, keep, 0)) {
            continue;
        } else if (s[0] == '-' && s[1]) {
            unknown("eval", s);
        } else if (!model) {
            model = s;
        } else {
            fprintf(stderr, "qkc eval: one model at a time\n");
            return 2;
        }
    }
    o->dims = dims;
    o->calib = calib;
    o->keep = keep;
    e.data = data;
    if (!model || !e.ndata) {
        fprintf(stderr, "qkc eval: %s (see qkc eval --help)\n", !model ? "no MODEL given" : "no --data X.npy given");
        return 2;
    }
    Diag d;
    diag_init(&d, stderr);
    int rc = drv_eval(model, &e, &d);
    diag_fini(&d);
    return rc;
}

static int cmd_inspect(Args *a)
{
    const char **dims = list_new(a->argc);
    DriverOptions o = {.dump = stdout, .dump_import = true, .verify = true};
    const char *model = NULL, *v, *dot = NULL;
    const char **binds = list_new(a->argc), **calib = list_new(a->argc), **keep = list_new(a->argc * 8);
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            char *list = NULL;
            size_t n = 0;
            FILE *f = open_memstream(&list, &n);
            for (int i = 0; f && i < pass_pipeline_len; i++)
                fprintf(f, "  %-8s %s\n", pass_pipeline[i].name, pass_pipeline[i].what);
            if (f)
                fclose(f);
            printf(usage_inspect, list ? list : "");
            free(list);
            return 0;
        } else if ((v = opt_value(a, "--print-after", NULL))) {
            o.print_after = v;
        } else if (strcmp(s, "--dot") == 0) {
            /* FILE is optional: the next argument unless it is an option or a model */
            const char *next = a->i + 1 < a->argc ? a->argv[a->i + 1] : NULL;
            dot = next && (next[0] != '-' || !next[1]) && !is_model_path(next) ? a->argv[++a->i] : "-";
        } else if (strncmp(s, "--dot=", 6) == 0) {
            dot = s + 6;
        } else if ((v = opt_value(a, "--batch", NULL))) {
            o.batch = parse_int("--batch", v, 1, INT32_MAX);
        } else if ((v = opt_value(a, "--bind", NULL))) {
            binds[o.nbind++] = v;
        } else if ((v = opt_value(a, "--dim", NULL))) {
            dims[o.ndim++] = v;
        } else if ((v = opt_value(a, "--max-const-bytes", NULL))) {
            o.max_const_bytes = parse_bytes("--max-const-bytes", v);
        } else if (quant_option(a, "inspect", &o, calib, keep, QO_PRECISION | QO_IO)) {
            continue;
        } else if (s[0] == '-' && s[1]) {
            unknown("inspect", s);
        } else if (!model) {
            model = s;
        } else {
            fprintf(stderr, "qkc inspect: one model at a time\n");
            return 2;
        }
    }
    o.dims = dims;
    o.binds = binds;
    o.calib = calib;
    o.keep = keep;
    if (!model) {
        fprintf(stderr, "qkc inspect: no MODEL given (see qkc inspect --help)\n");
        return 2;
    }
    if (!quant_options_check("inspect", &o))
        return 2;
    if (o.precision == PREC_MIXED) {
        fprintf(stderr, "qkc inspect: --precision mixed chooses its layers by compiling trials: inspect the "
                        "choice with --precision int8 --keep-float LIST (the list qkc compile prints)\n");
        return 2;
    }
    const char *after = o.print_after;
    if (after && strcmp(after, "all") != 0 && strcmp(after, "import") != 0 && !pass_find(after)) {
        fprintf(stderr, "qkc inspect: --print-after %s: no such pass (passes:", after);
        for (int i = 0; i < pass_pipeline_len; i++)
            fprintf(stderr, " %s", pass_pipeline[i].name);
        fprintf(stderr, ", or all)\n");
        return 2;
    }
    Target host;
    char *graph = NULL;
    size_t graph_len = 0;
    if (dot) {
        if (after && strcmp(after, "all") == 0) {
            fprintf(stderr, "qkc inspect: --dot draws one graph: --print-after names one pass (or import), not all\n");
            return 2;
        }
        /* the graph after one pass (the last by default) instead of the
         * text, kept in memory: FILE is written only when all went well */
        o.print_after = after ? after : pass_pipeline[pass_pipeline_len - 1].name;
        o.dump_import = false;
        o.dump = open_memstream(&graph, &graph_len);
        if (!o.dump) {
            fprintf(stderr, "qkc inspect: out of memory\n");
            return 1;
        }
        Diag quiet;
        diag_init(&quiet, NULL);
        o.dump_fn = drv_dot_dump;
        o.dump_ctx = cg_target_resolve(NULL, NULL, &host, &quiet) ? &host : NULL; /* kernels for this machine */
        diag_fini(&quiet);
    }
    Diag d;
    diag_init(&d, stderr);
    Graph *g = drv_lower(model, &o, &d);
    int rc = g ? 0 : 1;
    bool to_stdout = dot && (!*dot || strcmp(dot, "-") == 0);
    if (dot) {
        fclose(o.dump);
        FILE *f = rc ? NULL : to_stdout ? stdout : fopen(dot, "w");
        bool written = f && fwrite(graph, 1, graph_len, f) == graph_len;
        written = f && (f == stdout ? fflush(f) : fclose(f)) == 0 && written;
        if (!rc && !written) {
            fprintf(stderr, "qkc inspect: cannot write --dot %s: %s\n", to_stdout ? "to stdout" : dot, strerror(errno));
            rc = 1;
        }
        free(graph);
    }
    if (g && !rc && !to_stdout)
        printf("# workspace: %lld B static + %lld B per batch item; constants %lld B\n", (long long)g->ws_static,
               (long long)g->ws_batch, (long long)ir_graph_const_bytes(g));
    ir_graph_free(g);
    diag_fini(&d);
    return rc;
}

/* Write an interpreter output tensor as .npy. */
static bool write_tensor(const char *dir, const char *name, const Tensor *t)
{
    char path[4096], msg[512], fname[256];
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof fname; p++)
        fname[k++] = *p == '/' ? '_' : *p;
    fname[k] = 0;
    snprintf(path, sizeof path, "%s/%s.npy", dir, fname);
    if (npy_write(path, dtype_to_onnx(t->dtype), t->shape.rank, t->shape.d, t->data, msg, sizeof msg) != 0) {
        fprintf(stderr, "qkc interp: %s\n", msg);
        return false;
    }
    return true;
}

static int cmd_interp(Args *a)
{
    const char **dims = list_new(a->argc);
    DriverOptions o = {0};
    const char *model = NULL, *dir = NULL, *v;
    const char **inputs = list_new(a->argc), **calib = list_new(a->argc), **keep = list_new(a->argc * 8);
    int nin = 0;
    bool lowered = false;
    for (a->i = 2; a->i < a->argc; a->i++) {
        const char *s = a->argv[a->i];
        if (is_help(s)) {
            fputs(usage_interp, stdout);
            return 0;
        } else if ((v = opt_value(a, "--input", "-i"))) {
            inputs[nin++] = v;
        } else if ((v = opt_value(a, "--output-dir", "-d"))) {
            dir = v;
        } else if ((v = opt_value(a, "--batch", NULL))) {
            o.batch = parse_int("--batch", v, 1, INT32_MAX);
        } else if ((v = opt_value(a, "--dim", NULL))) {
            dims[o.ndim++] = v;
        } else if ((v = opt_value(a, "--max-const-bytes", NULL))) {
            o.max_const_bytes = parse_bytes("--max-const-bytes", v);
        } else if (strcmp(s, "--lowered") == 0) {
            lowered = true;
        } else if (quant_option(a, "interp", &o, calib, keep, QO_PRECISION | QO_IO)) {
            lowered = true;
        } else if (s[0] == '-' && s[1]) {
            unknown("interp", s);
        } else if (!model) {
            model = s;
        } else {
            fprintf(stderr, "qkc interp: one model at a time\n");
            return 2;
        }
    }
    o.dims = dims;
    o.calib = calib;
    o.keep = keep;
    if (!model || !dir) {
        fprintf(stderr, "qkc interp: %s (see qkc interp --help)\n", !model ? "no MODEL given" : "no --output-dir");
        return 2;
    }
    if (!quant_options_check("interp", &o))
        return 2;
    if (o.precision == PREC_MIXED) {
        fprintf(stderr, "qkc interp: use --precision int8 --keep-float LIST (the layers qkc compile "
                        "--precision mixed prints)\n");
        return 2;
    }
    Diag d;
    diag_init(&d, stderr);
    int rc = 1;
    int64_t const_left = 0;
    PassCtx pc = {.d = &d, .const_left = &const_left};
    Graph *g = lowered ? drv_lower(model, &o, &d) : drv_import_left(model, &o, &const_left, &d);
    Tensor *in = NULL, *out = NULL;
    if (!g || (!lowered && !pass_shape_infer(g, &pc)))
        goto done;
    in = calloc((size_t)g->ninputs + 1, sizeof *in);
    out = calloc((size_t)g->noutputs + 1, sizeof *out);
    int64_t batch = 1;
    for (int i = 0; i < nin; i++) {
        const char *eq = strchr(inputs[i], '=');
        int idx = -1;
        if (!eq && g->ninputs == 1)
            idx = 0;
        for (int k = 0; eq && k < g->ninputs; k++)
            if (strlen(g->inputs[k]->name) == (size_t)(eq - inputs[i]) &&
                strncmp(g->inputs[k]->name, inputs[i], (size_t)(eq - inputs[i])) == 0)
                idx = k;
        if (idx < 0 || in[idx].data) {
            fprintf(stderr, "qkc interp: --input %s matches no (unset) model input\n", inputs[i]);
            goto done;
        }
        if (!drv_read_npy(eq ? eq + 1 : inputs[i], &in[idx], &d))
            goto done;
        Value *v = g->inputs[idx];
        Shape want = v->shape;
        if (shape_has_batch(&want) && in[idx].shape.rank > 0)
            want.d[0] = batch = in[idx].shape.d[0];
        if (in[idx].dtype != v->dtype || !shape_eq(&in[idx].shape, &want)) {
            char b1[96], b2[96];
            fprintf(stderr, "qkc interp: input '%s': the .npy is %s%s, the model wants %s%s\n", v->name,
                    dtype_name(in[idx].dtype), shape_str(&in[idx].shape, b1, sizeof b1), dtype_name(v->dtype),
                    shape_str(&v->shape, b2, sizeof b2));
            goto done;
        }
    }
    for (int i = 0; i < g->ninputs; i++)
        if (!in[i].data) {
            fprintf(stderr, "qkc interp: input '%s' is missing\n", g->inputs[i]->name);
            goto done;
        }
    if (!interp_run(g, batch, in, out, &d))
        goto done;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "qkc interp: cannot create %s: %s\n", dir, strerror(errno));
        goto done;
    }
    rc = 0;
    for (int i = 0; i < g->noutputs; i++)
        if (!write_tensor(dir, value_pub_name(g->outputs[i]), &out[i]))
            rc = 1;
done:
    for (int i = 0; g && in && i < g->ninputs; i++)
        tensor_free(&in[i]);
    for (int i = 0; g && out && i < g->noutputs; i++)
        tensor_free(&out[i]);
    free(in);
    free(out);
    ir_graph_free(g);
    diag_fini(&d);
    return rc;
}

static int dispatch(Args *a);

int main(int argc, char **argv)
{
    Args a = {argc, 1, argv};
    int rc = dispatch(&a);
    lists_free();
    return rc;
}

static int dispatch(Args *ap)
{
    Args a = *ap;
    int argc = a.argc;
    char **argv = a.argv;
    if (argc < 2 || is_help(argv[1])) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("qkc %s (LLVM 19)\n", QKC_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "compile") == 0)
        return cmd_compile(&a);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(&a);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(&a);
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(&a);
    if (strcmp(argv[1], "interp") == 0)
        return cmd_interp(&a);
    if (strcmp(argv[1], "calibrate") == 0)
        return cmd_calibrate(&a);
    if (strcmp(argv[1], "eval") == 0)
        return cmd_eval(&a);
    fprintf(stderr, "qkc: unknown command '%s'\n\n%s", argv[1], usage_main);
    return 2;
}
