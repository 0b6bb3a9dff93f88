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

#include <stdbool.h>
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

/* Where CPUID reports each feature, and the register state it needs the OS
 * to save (AVX: YMM; AVX-512: opmask and ZMM too). */
enum { EAX, EBX, ECX, EDX };
enum { ANY, YMM, ZMM };
static const struct {
    unsigned leaf, sub;
    unsigned char reg, bit, state, id;
} cpuid_bits[] = {
    {1, 0, ECX, 0, ANY, QKRT_CPU_SSE3},           {1, 0, ECX, 9, ANY, QKRT_CPU_SSSE3},
    {1, 0, ECX, 19, ANY, QKRT_CPU_SSE41},         {1, 0, ECX, 20, ANY, QKRT_CPU_SSE42},
    {1, 0, ECX, 22, ANY, QKRT_CPU_MOVBE},         {1, 0, ECX, 23, ANY, QKRT_CPU_POPCNT},
    {1, 0, ECX, 28, YMM, QKRT_CPU_AVX},           {1, 0, ECX, 12, YMM, QKRT_CPU_FMA},
    {1, 0, ECX, 29, YMM, QKRT_CPU_F16C},          {7, 0, EBX, 3, ANY, QKRT_CPU_BMI},
    {7, 0, EBX, 8, ANY, QKRT_CPU_BMI2},           {7, 0, ECX, 8, ANY, QKRT_CPU_GFNI},
    {7, 0, EBX, 5, YMM, QKRT_CPU_AVX2},           {7, 0, ECX, 9, YMM, QKRT_CPU_VAES},
    {7, 0, ECX, 10, YMM, QKRT_CPU_VPCLMULQDQ},    {7, 0, EBX, 16, ZMM, QKRT_CPU_AVX512F},
    {7, 0, EBX, 17, ZMM, QKRT_CPU_AVX512DQ},      {7, 0, EBX, 21, ZMM, QKRT_CPU_AVX512IFMA},
    {7, 0, EBX, 28, ZMM, QKRT_CPU_AVX512CD},      {7, 0, EBX, 30, ZMM, QKRT_CPU_AVX512BW},
    {7, 0, EBX, 31, ZMM, QKRT_CPU_AVX512VL},      {7, 0, ECX, 1, ZMM, QKRT_CPU_AVX512VBMI},
    {7, 0, ECX, 6, ZMM, QKRT_CPU_AVX512VBMI2},    {7, 0, ECX, 11, ZMM, QKRT_CPU_AVX512VNNI},
    {7, 0, ECX, 12, ZMM, QKRT_CPU_AVX512BITALG},  {7, 0, ECX, 14, ZMM, QKRT_CPU_AVX512VPOPCNTDQ},
    {7, 0, EDX, 23, ZMM, QKRT_CPU_AVX512FP16},    {7, 1, EAX, 4, YMM, QKRT_CPU_AVXVNNI},
    {7, 1, EAX, 5, ZMM, QKRT_CPU_AVX512BF16},     {0x80000001, 0, ECX, 5, ANY, QKRT_CPU_LZCNT},
};

static uint64_t detect(void)
{
    unsigned r[4];
    if (!__get_cpuid(1, &r[EAX], &r[EBX], &r[ECX], &r[EDX]))
        return 0;
    uint64_t xcr0 = (r[ECX] >> 27 & 1) ? xgetbv0() : 0; /* OSXSAVE */
    bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0, tiles = (xcr0 & 0x60000) == 0x60000;
    uint64_t f = 0;
    for (unsigned i = 0; i < sizeof cpuid_bits / sizeof cpuid_bits[0]; i++) {
        unsigned char st = cpuid_bits[i].state;
        if ((st == YMM && !ymm) || (st == ZMM && !zmm) ||
            !__get_cpuid_count(cpuid_bits[i].leaf, cpuid_bits[i].sub, &r[EAX], &r[EBX], &r[ECX], &r[EDX]))
            continue;
        f |= (uint64_t)(r[cpuid_bits[i].reg] >> cpuid_bits[i].bit & 1) << cpuid_bits[i].id;
    }
    if (tiles && __get_cpuid_count(7, 0, &r[EAX], &r[EBX], &r[ECX], &r[EDX]) && (r[EDX] >> 24 & 1) &&
        amx_permitted()) {
        f |= BIT(AMX_TILE);
        f |= (r[EDX] >> 25 & 1) ? BIT(AMX_INT8) : 0;
        f |= (r[EDX] >> 22 & 1) ? BIT(AMX_BF16) : 0;
    }
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
