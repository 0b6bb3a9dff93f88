/* target.c — the target records and the CPU allow-lists.
 *
 * LLVM accepts unknown CPU names with only a warning and then aborts or
 * emits bad code (TOOLCHAIN.md), so every --cpu goes through a list here.
 * Per-CPU facts kernels care about (vector width, f16 conversion) are
 * fields of the record. */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "cg.h"
#include "qkc/qkrt_abi.h"

typedef struct CpuInfo {
    const char *name;
    const char *features; /* extra LLVM features, "" for the CPU's own */
    const char *isa;      /* the CPU's features the runtime checks (qkrt_abi.h's QKRT_CPU_FEATURES):
                           * LLVM may use any of them */
    int vector_bits;
    bool f16_convert;
    bool f16_arith;       /* native fp16 add/sub/mul/div/max/min (AArch64 FEAT_FP16, PTX sm_53+) */
    int vregs;            /* SIMD registers */
    DotKind dot;          /* exact int8 dot product */
} CpuInfo;

#define V2 "+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt"
#define V3 V2 ",+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe"
#define V4 V3 ",+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd"
#define ICX V4 ",+avx512vnni,+avx512vbmi,+avx512vbmi2,+avx512ifma,+avx512bitalg,+avx512vpopcntdq,+gfni,+vaes,+vpclmulqdq"
static const CpuInfo x86_cpus[] = {
    {"x86-64", "", "", 128, false, false, 16, DOT_PMADDWD},
    {"x86-64-v2", "", V2, 128, false, false, 16, DOT_PMADDWD},
    {"x86-64-v3", "", V3, 256, true, false, 16, DOT_PMADDWD},
    {"x86-64-v4", "", V4, 512, true, false, 32, DOT_PMADDWD},
    {"haswell", "", V3, 256, true, false, 16, DOT_PMADDWD},
    {"skylake", "", V3, 256, true, false, 16, DOT_PMADDWD},
    {"skylake-avx512", "", V4, 512, true, false, 32, DOT_PMADDWD},
    {"cascadelake", "", V4 ",+avx512vnni", 512, true, false, 32, DOT_VNNI},
    {"icelake-server", "", ICX, 512, true, false, 32, DOT_VNNI},
    {"sapphirerapids", "", ICX ",+avx512bf16,+avx512fp16,+avxvnni,+amx-tile,+amx-int8,+amx-bf16", 512, true, false, 32,
     DOT_VNNI},
    {"znver2", "", V3, 256, true, false, 16, DOT_PMADDWD},
    {"znver3", "", V3 ",+vaes,+vpclmulqdq", 256, true, false, 16, DOT_PMADDWD},
    {"znver4", "", ICX ",+avx512bf16", 512, true, false, 32, DOT_VNNI},
};

#define A76 "+dotprod,+fullfp16"
static const CpuInfo arm_cpus[] = {
    {"generic", "+neon", "", 128, true, false, 32, DOT_GENERIC},
    {"cortex-a53", "", "", 128, true, false, 32, DOT_GENERIC},
    {"cortex-a72", "", "", 128, true, false, 32, DOT_GENERIC},
    {"cortex-a76", "", A76, 128, true, true, 32, DOT_SDOT},
    {"neoverse-n1", "", A76, 128, true, true, 32, DOT_SDOT},
    {"neoverse-n2", "", A76 ",+sve,+i8mm,+bf16", 128, true, true, 32, DOT_SDOT},
    {"neoverse-v1", "", A76 ",+sve,+i8mm,+bf16", 256, true, true, 32, DOT_SDOT},
    {"apple-m1", "", A76, 128, true, true, 32, DOT_SDOT},
};

static const CpuInfo ptx_cpus[] = {
    {"sm_75", "", "", 32, true, true, 0, DOT_GENERIC}, {"sm_80", "", "", 32, true, true, 0, DOT_GENERIC}, {"sm_86", "", "", 32, true, true, 0, DOT_GENERIC},
    {"sm_89", "", "", 32, true, true, 0, DOT_GENERIC}, {"sm_90", "", "", 32, true, true, 0, DOT_GENERIC},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The QKRT_CPU_* bits of the "+name" entries of an LLVM feature string
 * (others, and "-name", add nothing). AMX's are left out: only intrinsics
 * emit tile instructions, and no kernel has them yet. */
static uint64_t feature_bits(const char *s)
{
#define QKRT_CPU_NAME_(id, name) name,
    static const char *const names[QKRT_CPU_COUNT] = {QKRT_CPU_FEATURES(QKRT_CPU_NAME_)};
#undef QKRT_CPU_NAME_
    uint64_t bits = 0;
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        for (int i = 0; i < QKRT_CPU_COUNT && *s == '+'; i++)
            if (strlen(names[i]) == len - 1 && strncmp(names[i], s + 1, len - 1) == 0)
                bits |= 1ull << i;
        s = end ? end + 1 : NULL;
    }
    return bits & ~(1ull << QKRT_CPU_AMX_TILE | 1ull << QKRT_CPU_AMX_INT8 | 1ull << QKRT_CPU_AMX_BF16);
}

/* Target.bf16_dot: vdpbf16ps on 512-bit vectors (x86 with AVX512-BF16) */
static bool has_bf16_dot(const Target *t)
{
    return t->arch == ARCH_X86_64 && t->vector_bits == 512 && strstr(t->features, "+avx512bf16") != NULL;
}

/* Target.byte_perm: vpermb/vpermt2b on 512-bit vectors (x86 with AVX512-VBMI;
 * from cpu_features, whose names match whole: "+avx512vbmi2" is not it) */
static bool has_byte_perm(const Target *t)
{
    return t->arch == ARCH_X86_64 && t->vector_bits == 512 && (t->cpu_features >> QKRT_CPU_AVX512VBMI & 1);
}

const char *cg_host_arch(void)
{
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

static void init_llvm_targets(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
}

static const CpuInfo *find_cpu(const CpuInfo *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

static void list_cpus(FILE *f, const CpuInfo *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", list[i].name);
}

void cg_target_print_cpus(FILE *f)
{
    fprintf(f, "  x86_64:  native (the default on an x86-64 host), ");
    list_cpus(f, x86_cpus, N(x86_cpus));
    fprintf(f, "\n  aarch64: ");
    list_cpus(f, arm_cpus, N(arm_cpus));
    fprintf(f, "\n  nvptx:   ");
    list_cpus(f, ptx_cpus, N(ptx_cpus));
    fprintf(f, "\n");
}

bool cg_target_resolve(const char *arch, const char *cpu, Target *t, Diag *d)
{
    init_llvm_targets();
    memset(t, 0, sizeof *t);
    const char *host = cg_host_arch();
    if (!arch)
        arch = host;
    const CpuInfo *list;
    size_t n;
    if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86-64") == 0) {
        t->arch = ARCH_X86_64;
        t->name = "x86_64";
        t->triple = "x86_64-unknown-linux-gnu";
        t->libc_dirs[0] = "/lib/x86_64-linux-gnu";
        t->libc_dirs[1] = "/usr/lib/x86_64-linux-gnu";
        list = x86_cpus, n = N(x86_cpus);
    } else if (strcmp(arch, "aarch64") == 0 || strcmp(arch, "arm64") == 0) {
        t->arch = ARCH_AARCH64;
        t->name = "aarch64";
        t->triple = "aarch64-unknown-linux-gnu";
        t->libc_dirs[0] = QKC_AARCH64_SYSROOT "/lib";
        t->libc_dirs[1] = "/usr/lib/aarch64-linux-gnu";
        list = arm_cpus, n = N(arm_cpus);
    } else if (strcmp(arch, "nvptx") == 0 || strcmp(arch, "nvptx64") == 0 || strcmp(arch, "cuda") == 0) {
        t->arch = ARCH_NVPTX;
        t->name = "nvptx";
        t->triple = "nvptx64-nvidia-cuda";
        t->gpu = true;
        t->host_triple = "x86_64-unknown-linux-gnu"; /* the .so that carries the PTX */
        t->libc_dirs[0] = "/lib/x86_64-linux-gnu";
        t->libc_dirs[1] = "/usr/lib/x86_64-linux-gnu";
        list = ptx_cpus, n = N(ptx_cpus);
    } else {
        return diag_error(d, loc_none(), "unknown target '%s' (targets: x86_64, aarch64, nvptx)", arch);
    }

    bool native = strcmp(t->name, host) == 0 && (!cpu || strcmp(cpu, "native") == 0);
    if (native) {
        /* the host's own CPU and features, as LLVM detects them: read once
         * and kept for the life of the process (every Target of the host
         * points at them) */
        static char cpu_buf[64];
        static char *feat_buf;
        if (!feat_buf) {
            char *hc = LLVMGetHostCPUName(), *hf = LLVMGetHostCPUFeatures();
            snprintf(cpu_buf, sizeof cpu_buf, "%s", hc ? hc : "generic");
            feat_buf = strdup(hf ? hf : "");
            LLVMDisposeMessage(hc);
            LLVMDisposeMessage(hf);
            if (!feat_buf)
                return diag_error(d, loc_none(), "out of memory");
        }
        t->cpu = cpu_buf;
        t->features = feat_buf;
        const CpuInfo *ci = find_cpu(list, n, cpu_buf);
        bool avx512 = strstr(t->features, "+avx512f") != NULL, avx2 = strstr(t->features, "+avx2") != NULL;
        t->vector_bits = ci ? ci->vector_bits : t->arch == ARCH_X86_64 ? (avx512 ? 512 : avx2 ? 256 : 128) : 128;
        t->f16_convert = t->arch == ARCH_AARCH64 || strstr(t->features, "+f16c") != NULL;
        t->f16_arith = t->arch == ARCH_AARCH64 && strstr(t->features, "+fullfp16") != NULL;
        if (t->arch == ARCH_X86_64) {
            t->vregs = avx512 ? 32 : 16;
            t->dot = strstr(t->features, "+avx512vnni") && avx512 ? DOT_VNNI
                     : strstr(t->features, "+avxvnni")              ? DOT_VNNI
                                                                     : DOT_PMADDWD;
        } else {
            t->vregs = 32;
            t->dot = strstr(t->features, "+dotprod") ? DOT_SDOT : DOT_GENERIC;
        }
        t->cpu_features = feature_bits(t->features);
        t->bf16_dot = has_bf16_dot(t);
        t->byte_perm = has_byte_perm(t);
        return true;
    }
    if (cpu && strcmp(cpu, "native") == 0)
        return diag_error(d, loc_none(), "--cpu native: the host is %s, not %s", host, t->name);
    if (!cpu) /* a conservative baseline for cross builds */
        cpu = t->arch == ARCH_X86_64 ? "x86-64-v2" : t->arch == ARCH_AARCH64 ? "generic" : "sm_80";
    const CpuInfo *ci = find_cpu(list, n, cpu);
    if (!ci) {
        char *msg = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&msg, &len);
        if (f) {
            list_cpus(f, list, n);
            fclose(f);
        }
        diag_error(d, loc_none(), "unknown CPU '%s' for %s (known: %s)", cpu, t->name, msg ? msg : "");
        free(msg);
        return false;
    }
    t->cpu = ci->name;
    t->features = ci->features;
    t->vector_bits = ci->vector_bits;
    t->f16_convert = ci->f16_convert;
    t->f16_arith = ci->f16_arith;
    t->vregs = ci->vregs;
    t->dot = ci->dot;
    t->cpu_features = feature_bits(ci->isa) | feature_bits(ci->features);
    t->bf16_dot = has_bf16_dot(t);
    t->byte_perm = has_byte_perm(t);
    return true;
}

LLVMTargetMachineRef cg_target_machine(const char *triple, const char *cpu, const char *features, int opt, Diag *d)
{
    init_llvm_targets();
    LLVMTargetRef tgt;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &tgt, &err)) {
        diag_error(d, loc_none(), "LLVM has no target for %s: %s", triple, err ? err : "");
        LLVMDisposeMessage(err);
        return NULL;
    }
    LLVMCodeGenOptLevel lvl = opt >= 3   ? LLVMCodeGenLevelAggressive
                              : opt == 2 ? LLVMCodeGenLevelDefault
                              : opt == 1 ? LLVMCodeGenLevelLess
                                         : LLVMCodeGenLevelNone;
    return LLVMCreateTargetMachine(tgt, triple, cpu, features, lvl, LLVMRelocPIC, LLVMCodeModelDefault);
}

/* Named sets of CPUs for fat artifacts. */
static const struct {
    const char *name, *arch, *cpus;
} cpu_sets[] = {
    /* every x86-64 CPU of the last 15 years, each at its best level:
     * SSE4.2, AVX2+FMA, AVX-512, AVX-512 with VNNI (the exact int8 dot) */
    {"portable", "x86_64", "x86-64-v2,x86-64-v3,x86-64-v4,cascadelake"},
};

int cg_target_resolve_list(const char *arch, const char *cpus, Target *out, int max, Diag *d)
{
    if (!cpus || !strchr(cpus, ','))
        for (size_t i = 0; cpus && i < N(cpu_sets); i++)
            if (strcmp(cpus, cpu_sets[i].name) == 0) {
                if (arch && strcmp(arch, cpu_sets[i].arch) != 0 && strcmp(arch, "x86-64") != 0) {
                    diag_error(d, loc_none(), "--cpu %s is a set of %s CPUs, not %s ones", cpus, cpu_sets[i].arch,
                               arch);
                    return 0;
                }
                cpus = cpu_sets[i].cpus;
                arch = cpu_sets[i].arch;
                break;
            }
    if (!cpus || !strchr(cpus, ','))
        return cg_target_resolve(arch, cpus, &out[0], d) ? 1 : 0;
    int n = 0;
    const char *s = cpus;
    while (s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char name[64];
        if (len == 0 || len >= sizeof name) {
            diag_error(d, loc_none(), "--cpu %s: an empty or overlong CPU name in the list", cpus);
            return 0;
        }
        memcpy(name, s, len);
        name[len] = 0;
        if (n == max) {
            diag_error(d, loc_none(), "--cpu %s: more than %d CPUs", cpus, max);
            return 0;
        }
        if (!cg_target_resolve(arch, name, &out[n], d))
            return 0;
        if (out[n].gpu) {
            diag_error(d, loc_none(), "--cpu %s: a list of CPUs (a fat artifact) is for CPU targets, not %s", cpus,
                       out[n].name);
            return 0;
        }
        for (int k = 0; k < n; k++)
            if (strcmp(out[k].cpu, out[n].cpu) == 0) {
                diag_error(d, loc_none(), "--cpu %s: '%s' is listed twice", cpus, out[n].cpu);
                return 0;
            }
        n++;
        s = end ? end + 1 : NULL;
    }
    /* least demanding first (the chain's order at load is the reverse) */
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && __builtin_popcountll(out[k].cpu_features) < __builtin_popcountll(out[k - 1].cpu_features); k--) {
            Target t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return n;
}
