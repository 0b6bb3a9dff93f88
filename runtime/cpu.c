/* cpu.c — the CPU features of the machine the runtime runs on, as the
 * QKRT_CPU_* bits artifacts record (qkrt_abi.h), and their names.
 *
 * x86-64: CPUID leaves 1, 7 (subleaves 0 and 1) and 0x80000001; the AVX,
 * AVX-512 and AMX features count only when the OS saves their registers
 * (XGETBV: XCR0's YMM, opmask/ZMM and tile bits) and, for AMX, lets this
 * process use them (Linux's ARCH_REQ_XCOMP_PERM, asked once). AArch64: the
 * kernel's HWCAP and HWCAP2. Read once; thread-safe (a benign race writes
 * the same value). */
#include "internal.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

#define BIT(id) (1ull << QKRT_CPU_##id)

#if defined(__x86_64__)
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Linux keeps AMX's tile data off until a process asks (ARCH_REQ_XCOMP_PERM
 * for XFEATURE_XTILEDATA, 18); without it a tile instruction faults. */
static int amx_permitted(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18) == 0;
#else
    return 0;
#endif
}

static uint64_t detect(void)
{
    unsigned a, b, c, d;
    uint64_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0, tiles = (xcr0 & 0x60000) == 0x60000;
    f |= (c & 1) ? BIT(SSE3) : 0;
    f |= (c >> 9 & 1) ? BIT(SSSE3) : 0;
    f |= (c >> 19 & 1) ? BIT(SSE41) : 0;
    f |= (c >> 20 & 1) ? BIT(SSE42) : 0;
    f |= (c >> 22 & 1) ? BIT(MOVBE) : 0;
    f |= (c >> 23 & 1) ? BIT(POPCNT) : 0;
    if (ymm) {
        f |= (c >> 28 & 1) ? BIT(AVX) : 0;
        f |= (c >> 12 & 1) ? BIT(FMA) : 0;
        f |= (c >> 29 & 1) ? BIT(F16C) : 0;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f |= (b >> 3 & 1) ? BIT(BMI) : 0;
        f |= (b >> 8 & 1) ? BIT(BMI2) : 0;
        f |= (c >> 8 & 1) ? BIT(GFNI) : 0;
        if (ymm) {
            f |= (b >> 5 & 1) ? BIT(AVX2) : 0;
            f |= (c >> 9 & 1) ? BIT(VAES) : 0;
            f |= (c >> 10 & 1) ? BIT(VPCLMULQDQ) : 0;
        }
        if (zmm) {
            static const struct { int reg, bit, id; } z[] = {
                {1, 16, QKRT_CPU_AVX512F},     {1, 17, QKRT_CPU_AVX512DQ},       {1, 21, QKRT_CPU_AVX512IFMA},
                {1, 28, QKRT_CPU_AVX512CD},    {1, 30, QKRT_CPU_AVX512BW},       {1, 31, QKRT_CPU_AVX512VL},
                {2, 1, QKRT_CPU_AVX512VBMI},   {2, 6, QKRT_CPU_AVX512VBMI2},     {2, 11, QKRT_CPU_AVX512VNNI},
                {2, 12, QKRT_CPU_AVX512BITALG}, {2, 14, QKRT_CPU_AVX512VPOPCNTDQ}, {3, 23, QKRT_CPU_AVX512FP16},
            };
            for (unsigned i = 0; i < sizeof z / sizeof z[0]; i++) {
                unsigned r = z[i].reg == 1 ? b : z[i].reg == 2 ? c : d;
                f |= (r >> z[i].bit & 1) ? 1ull << z[i].id : 0;
            }
        }
        if (tiles && (d >> 24 & 1) && amx_permitted()) {
            f |= BIT(AMX_TILE);
            f |= (d >> 25 & 1) ? BIT(AMX_INT8) : 0;
            f |= (d >> 22 & 1) ? BIT(AMX_BF16) : 0;
        }
        if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            f |= ymm && (a >> 4 & 1) ? BIT(AVXVNNI) : 0;
            f |= zmm && (a >> 5 & 1) ? BIT(AVX512BF16) : 0;
        }
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d))
        f |= (c >> 5 & 1) ? BIT(LZCNT) : 0;
    return f;
}
#elif defined(__aarch64__)
static uint64_t detect(void)
{
    unsigned long h = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
    uint64_t f = 0;
    f |= (h >> 20 & 1) ? BIT(A64_DOTPROD) : 0;  /* HWCAP_ASIMDDP */
    f |= (h >> 10 & 1) ? BIT(A64_FP16) : 0;     /* HWCAP_ASIMDHP */
    f |= (h >> 22 & 1) ? BIT(A64_SVE) : 0;      /* HWCAP_SVE */
    f |= (h2 >> 13 & 1) ? BIT(A64_I8MM) : 0;    /* HWCAP2_I8MM */
    f |= (h2 >> 14 & 1) ? BIT(A64_BF16) : 0;    /* HWCAP2_BF16 */
    return f;
}
#else
static uint64_t detect(void) { return 0; }
#endif

uint64_t qkrt_cpu_features(void)
{
    static volatile int done;
    static volatile uint64_t f;
    if (!done) {
        f = detect();
        done = 1;
    }
    return f;
}

const char *qkrt_cpu_feature_name(int bit)
{
#define QKRT_CPU_NAME_(id, name) name,
    static const char *const names[QKRT_CPU_COUNT] = {QKRT_CPU_FEATURES(QKRT_CPU_NAME_)};
#undef QKRT_CPU_NAME_
    return bit >= 0 && bit < QKRT_CPU_COUNT ? names[bit] : "?";
}
