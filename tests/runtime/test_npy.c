/* test_npy.c — .npy reading and writing: round trips of every dtype at
 * ranks 0..8; files written by numpy itself (little- and big-endian,
 * Fortran order, versions 1.0/2.0/3.0) compared element by element with
 * the C-order bytes numpy gives for them; files we write read back by
 * numpy; header spellings numpy accepts; malformed files, each refused
 * with its reason; and mutated files, which must never crash the reader.
 *
 * numpy is Debian's, at PYTHON3 (/usr/bin/python3); without it the numpy
 * tests are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/npy.h"

static char dir[64];
static int have_numpy;

static const int32_t all_codes[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13};

static size_t code_size(int32_t code)
{
    switch (code) {
    case 2: case 3: case 9: return 1;
    case 4: case 5: case 10: return 2;
    case 1: case 6: case 12: return 4;
    default: return 8;
    }
}

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, malloc'ed; *n its size. */
static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static int run_python(const char *script_name, const char *script)
{
    const char *path = path_in(script_name);
    write_file(path, script, strlen(script));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'", PYTHON3, path, dir);
    return system(cmd);
}

/* ---- round trips ---- */

static void test_round_trip_every_dtype_and_rank(void **state)
{
    char err[512];
    for (size_t c = 0; c < sizeof all_codes / sizeof *all_codes; c++) {
        int32_t code = all_codes[c];
        for (int rank = 0; rank <= NPY_MAX_RANK; rank++) {
            int64_t dims[NPY_MAX_RANK], numel = 1;
            for (int k = 0; k < rank; k++) {
                dims[k] = 1 + (k + code) % 3;
                numel *= dims[k];
            }
            size_t bytes = (size_t)numel * code_size(code);
            unsigned char *data = malloc(bytes);
            for (size_t i = 0; i < bytes; i++)
                data[i] = code == 9 ? (unsigned char)(i % 3 == 0) : (unsigned char)(i * 31 + (size_t)code);
            char name[64];
            snprintf(name, sizeof name, "rt_%d_%d.npy", (int)code, rank);
            const char *path = path_in(name);
            if (npy_write(path, code, rank, dims, data, err, sizeof err))
                fail_msg("%s", err);

            /* the data starts at a multiple of 64, after a newline */
            size_t flen;
            unsigned char *file = read_file(path, &flen);
            size_t hlen = file[8] | (size_t)file[9] << 8;
            assert_int_equal(file[6], 1);
            assert_int_equal((10 + hlen) % 64, 0);
            assert_int_equal(file[10 + hlen - 1], '\n');
            assert_int_equal(flen, 10 + hlen + bytes);
            free(file);

            NpyArray a;
            if (npy_read(path, &a, err, sizeof err))
                fail_msg("%s", err);
            assert_int_equal(a.dtype, code);
            assert_int_equal(a.rank, rank);
            for (int k = 0; k < rank; k++)
                assert_int_equal(a.dims[k], dims[k]);
            assert_int_equal(a.bytes, bytes);
            assert_int_equal(npy_numel(&a), numel);
            assert_memory_equal(a.data, data, bytes);
            npy_free(&a);
            assert_null(a.data);
            free(data);
        }
    }
}

static void test_round_trip_empty_and_errors(void **state)
{
    char err[512];
    const int64_t dims[] = {0, 5};
    const char *path = path_in("empty.npy");
    assert_int_equal(npy_write(path, 1, 2, dims, NULL, err, sizeof err), 0);
    NpyArray a;
    assert_int_equal(npy_read(path, &a, err, sizeof err), 0);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[0], 0);
    assert_int_equal(a.bytes, 0);
    assert_int_equal(npy_numel(&a), 0);
    npy_free(&a);

    const int64_t neg[] = {-1}, huge[] = {INT64_MAX, 2};
    float x[4] = {0};
    /* bfloat16 goes out as uint16 bits (NumPy has no bfloat16) */
    const uint16_t bf[2] = {0x3f80, 0xc000}; /* 1.0, -2.0 */
    const int64_t two[] = {2};
    assert_int_equal(npy_write(path, 16, 1, two, bf, err, sizeof err), 0);
    assert_int_equal(npy_read(path, &a, err, sizeof err), 0);
    assert_int_equal(a.dtype, 4);
    assert_memory_equal(a.data, bf, sizeof bf);
    npy_free(&a);
    assert_int_equal(npy_write(path, 14, 1, dims, x, err, sizeof err), -1); /* complex64 */
    assert_non_null(strstr(err, "dtype 14 cannot be written"));
    assert_int_equal(npy_write(path, 1, 9, dims, x, err, sizeof err), -1);
    assert_non_null(strstr(err, "rank 9"));
    assert_int_equal(npy_write(path, 1, 1, neg, x, err, sizeof err), -1);
    assert_non_null(strstr(err, "negative dimension -1"));
    assert_int_equal(npy_write(path, 1, 2, huge, x, err, sizeof err), -1);
    assert_non_null(strstr(err, "overflows"));
    assert_int_equal(npy_write(path_in("no/such/dir.npy"), 1, 0, NULL, x, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
    assert_int_equal(npy_write(path, 1, 0, NULL, x, NULL, 0), 0); /* no room for a message is fine */
    assert_int_equal(npy_numel(NULL), -1);
    npy_free(NULL);
}

/* ---- numpy's files ---- */

static const char gen_script[] =
    "import numpy as np, os, sys\n"
    "d = sys.argv[1]\n"
    "rng = np.random.default_rng(7)\n"
    "codes = {'f4': 1, 'u1': 2, 'i1': 3, 'u2': 4, 'i2': 5, 'i4': 6, 'i8': 7, 'b1': 9, 'f2': 10, 'f8': 11,\n"
    "         'u4': 12, 'u8': 13}\n"
    "man = open(os.path.join(d, 'manifest.txt'), 'w')\n"
    "def emit(name, a, version=None):\n"
    "    with open(os.path.join(d, name + '.npy'), 'wb') as f:\n"
    "        if version: np.lib.format.write_array(f, a, version=version)\n"
    "        else: np.save(f, a)\n"
    "    c = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))\n"
    "    open(os.path.join(d, name + '.raw'), 'wb').write(c.tobytes())\n"
    "    key = a.dtype.kind + str(a.dtype.itemsize)\n"
    "    man.write('%s %d %d %s\\n' % (name, codes[key], a.ndim, ' '.join(map(str, a.shape))))\n"
    "def values(t, shape):\n"
    "    dt = np.dtype(t)\n"
    "    n = int(np.prod(shape))\n"
    "    if dt.kind == 'b':\n"
    "        v = rng.integers(0, 2, n).astype(bool)\n"
    "    elif dt.kind in 'iu':\n"
    "        info = np.iinfo(dt)\n"
    "        v = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)\n"
    "        v[:2] = [info.min, info.max][:n]\n"
    "    else:\n"
    "        v = (rng.standard_normal(n) * 100).astype(dt)\n"
    "        sp = np.array([np.inf, -np.inf, np.nan, -0.0, 1e-7], dtype=dt)\n"
    "        v[:len(sp)] = sp[:n]\n"
    "    return v.reshape(shape)\n"
    "for t in codes:\n"
    "    for shape in [(2, 3, 4), (), (5,), (0, 3), (3, 1, 4, 1, 2, 1, 2, 3), (7, 5)]:\n"
    "        a = values(t, shape)\n"
    "        base = '%s_%s' % (t, 'x'.join(map(str, shape)) or 'scalar')\n"
    "        emit(base + '_le', a)\n"
    "        wide = a.dtype.itemsize > 1\n"
    "        if wide: emit(base + '_be', a.astype(a.dtype.newbyteorder('>')))\n"
    "        if a.ndim > 1 and a.size > 0:\n"
    "            emit(base + '_f', np.asfortranarray(a))\n"
    "            if wide: emit(base + '_fbe', np.asfortranarray(a.astype(a.dtype.newbyteorder('>'))))\n"
    "    emit(t + '_v2', values(t, (3, 4)), (2, 0))\n"
    "    emit(t + '_v3', np.asfortranarray(values(t, (3, 4))), (3, 0))\n"
    "man.close()\n";

static void test_reads_numpy_files(void **state)
{
    if (!have_numpy)
        skip();
    assert_int_equal(run_python("gen.py", gen_script), 0);
    FILE *man = fopen(path_in("manifest.txt"), "r");
    assert_non_null(man);
    char line[512], err[512];
    int files = 0, swapped = 0, fortran = 0;
    while (fgets(line, sizeof line, man)) {
        char name[128];
        int code, rank, used;
        assert_int_equal(sscanf(line, "%127s %d %d%n", name, &code, &rank, &used), 3);
        int64_t dims[NPY_MAX_RANK];
        const char *p = line + used;
        for (int k = 0; k < rank; k++) {
            long long d;
            int n;
            assert_int_equal(sscanf(p, "%lld%n", &d, &n), 1);
            dims[k] = d;
            p += n;
        }
        char npy[160], raw[160];
        snprintf(npy, sizeof npy, "%s.npy", name);
        snprintf(raw, sizeof raw, "%s.raw", name);
        NpyArray a;
        if (npy_read(path_in(npy), &a, err, sizeof err))
            fail_msg("%s", err);
        size_t rlen;
        unsigned char *want = read_file(path_in(raw), &rlen);
        if (a.dtype != code || a.rank != rank || a.bytes != rlen)
            fail_msg("%s: dtype %d rank %d bytes %zu, numpy says %d %d %zu", name, (int)a.dtype, a.rank, a.bytes,
                     code, rank, rlen);
        for (int k = 0; k < rank; k++)
            assert_int_equal(a.dims[k], dims[k]);
        size_t item = code_size(code);
        for (size_t e = 0; e < rlen / item; e++)
            if (memcmp((unsigned char *)a.data + e * item, want + e * item, item))
                fail_msg("%s: element %zu differs from numpy's", name, e);
        npy_free(&a);
        free(want);
        files++;
        swapped += strstr(name, "be") != NULL;
        fortran += strstr(name, "_f") != NULL;
    }
    fclose(man);
    print_message("read %d numpy files (%d big-endian, %d Fortran order)\n", files, swapped, fortran);
    assert_true(files > 150 && swapped > 50 && fortran > 40);
}

static const char check_script[] =
    "import numpy as np, os, sys\n"
    "d = sys.argv[1]\n"
    "descr = {1: '<f4', 2: '|u1', 3: '|i1', 4: '<u2', 5: '<i2', 6: '<i4', 7: '<i8', 9: '|b1', 10: '<f2',\n"
    "         11: '<f8', 12: '<u4', 13: '<u8'}\n"
    "bad = 0\n"
    "n = 0\n"
    "for line in open(os.path.join(d, 'written.txt')):\n"
    "    f = line.split()\n"
    "    name, code, dims = f[0], int(f[1]), tuple(int(x) for x in f[2:])\n"
    "    a = np.load(os.path.join(d, name + '.npy'))\n"
    "    raw = open(os.path.join(d, name + '.raw'), 'rb').read()\n"
    "    if a.dtype.str != descr[code] or a.shape != dims or a.tobytes() != raw:\n"
    "        print('mismatch', name, a.dtype.str, a.shape); bad += 1\n"
    "    n += 1\n"
    "print('numpy read', n, 'files')\n"
    "sys.exit(1 if bad or n == 0 else 0)\n";

static void test_numpy_reads_our_files(void **state)
{
    if (!have_numpy)
        skip();
    char err[512];
    FILE *man = fopen(path_in("written.txt"), "w");
    assert_non_null(man);
    for (size_t c = 0; c < sizeof all_codes / sizeof *all_codes; c++) {
        int32_t code = all_codes[c];
        for (int rank = 0; rank <= NPY_MAX_RANK; rank++) {
            int64_t dims[NPY_MAX_RANK], numel = 1;
            for (int k = 0; k < rank; k++) {
                dims[k] = 1 + (k * 2 + code) % 4;
                numel *= dims[k];
            }
            size_t bytes = (size_t)numel * code_size(code);
            unsigned char *data = malloc(bytes);
            for (size_t i = 0; i < bytes; i++)
                data[i] = code == 9 ? (unsigned char)(i % 2) : (unsigned char)(i * 13 + 7);
            char name[64], file[80];
            snprintf(name, sizeof name, "w_%d_%d", (int)code, rank);
            snprintf(file, sizeof file, "%s.npy", name);
            if (npy_write(path_in(file), code, rank, dims, data, err, sizeof err))
                fail_msg("%s", err);
            snprintf(file, sizeof file, "%s.raw", name);
            write_file(path_in(file), data, bytes);
            fprintf(man, "%s %d", name, (int)code);
            for (int k = 0; k < rank; k++)
                fprintf(man, " %lld", (long long)dims[k]);
            fprintf(man, "\n");
            free(data);
        }
    }
    fclose(man);
    assert_int_equal(run_python("check.py", check_script), 0);
}

/* ---- hand-made files ---- */

/* A .npy file: magic, version, header length (or `hlen` when >= 0), the
 * header text as given, then `dlen` bytes of data. Returns its size. */
static size_t make_npy(unsigned char *buf, int major, int minor, const char *header, long long hlen, size_t dlen)
{
    size_t n = strlen(header), pos = 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = (unsigned char)minor;
    uint64_t len = hlen >= 0 ? (uint64_t)hlen : n;
    buf[8] = (unsigned char)len;
    buf[9] = (unsigned char)(len >> 8);
    pos = 10;
    if (major != 1) {
        buf[10] = (unsigned char)(len >> 16);
        buf[11] = (unsigned char)(len >> 24);
        pos = 12;
    }
    memcpy(buf + pos, header, n);
    pos += n;
    for (size_t i = 0; i < dlen; i++)
        buf[pos + i] = (unsigned char)(i * 3);
    return pos + dlen;
}

static void test_accepts_header_spellings(void **state)
{
    static const struct {
        const char *header;
        int32_t dtype;
        int rank;
        int64_t d0;
        size_t dlen;
    } ok[] = {
        {"{'descr': '=f4', 'fortran_order': False, 'shape': (3,), }\n", 1, 1, 3, 12},
        {"{'descr': 'i2', 'fortran_order': False, 'shape': (3,)}", 5, 1, 3, 6},
        {"{\"shape\": (2, 2), \"fortran_order\": False, \"descr\": \"<u4\"}    \n", 12, 2, 2, 16},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }\n", 6, 2, 2, 24},
        {"{'descr':'|b1','fortran_order':True,'shape':()}", 9, 0, 0, 1},
        {"{'descr': '>f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1,), }", 11, 8, 1, 8},
        {" \t{ 'descr' : '<f2' , 'fortran_order' : False , 'shape' : ( 4 , ) , } \r\n", 10, 1, 4, 8},
    };
    unsigned char buf[1024];
    char err[512];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        size_t n = make_npy(buf, i % 2 ? 2 : 1, 0, ok[i].header, -1, ok[i].dlen);
        NpyArray a;
        if (npy_read_buffer("spelling", buf, n, &a, err, sizeof err))
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(a.dtype, ok[i].dtype);
        assert_int_equal(a.rank, ok[i].rank);
        if (a.rank)
            assert_int_equal(a.dims[0], ok[i].d0);
        npy_free(&a);
    }

    /* big-endian is swapped, bools canonicalized, Fortran transposed */
    size_t n = make_npy(buf, 1, 0, "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3), }", -1, 0);
    const unsigned char be[] = {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6}; /* column-major 1..6 */
    memcpy(buf + n, be, sizeof be);
    NpyArray a;
    assert_int_equal(npy_read_buffer("be", buf, n + sizeof be, &a, err, sizeof err), 0);
    const uint16_t want[] = {1, 3, 5, 2, 4, 6};
    assert_memory_equal(a.data, want, sizeof want);
    npy_free(&a);
    n = make_npy(buf, 1, 0, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", -1, 0);
    buf[n] = 0, buf[n + 1] = 7, buf[n + 2] = 1;
    assert_int_equal(npy_read_buffer("bool", buf, n + 3, &a, err, sizeof err), 0);
    assert_memory_equal(a.data, "\0\1\1", 3);
    npy_free(&a);
}

static void test_refuses_malformed_files(void **state)
{
    static const char good[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n";
    static const struct {
        int major, minor;
        const char *header;  /* NULL: raw bytes below */
        long long hlen;      /* -1: the header's length */
        size_t dlen;
        const char *raw;
        size_t rawlen;
        const char *reason;
    } bad[] = {
        {0, 0, NULL, -1, 0, "", 0, "empty file, not a .npy file"},
        {0, 0, NULL, -1, 0, "\x93NUM", 4, "not a .npy file (bad magic)"},
        {0, 0, NULL, -1, 0, "\x93NUMPX\x01\x00\x10\x00{}", 12, "not a .npy file (bad magic)"},
        {0, 0, NULL, -1, 0, "PK\x03\x04 a zip file, not npy", 24, "bad magic"},
        {0, 0, NULL, -1, 0, "\x93NUMPY\x01", 7, "too short"},
        {0, 0, NULL, -1, 0, "\x93NUMPY\x02\x00\x10\x00", 10, "too short"},
        {4, 0, good, -1, 48, NULL, 0, "unsupported .npy version 4.0"},
        {1, 5, good, -1, 48, NULL, 0, "unsupported .npy version 1.5"},
        {1, 0, good, 1000, 0, NULL, 0, "header of 1000 bytes runs past the end of the file"},
        {2, 0, good, 70000, 0, NULL, 0, "header of 70000 bytes is too large (the limit is 65536)"},
        {3, 0, good, 0xffffffffll, 0, NULL, 0, "header of 4294967295 bytes is too large"},
        {1, 0, "['descr', '<f4']", -1, 0, NULL, 0, "expected '{' opening the header dict, found '['"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, ", -1, 0, NULL, 0, "unterminated dict"},
        {1, 0, "{'descr': '<f4", -1, 0, NULL, 0, "unterminated string"},
        {1, 0, "{'descr': '<f4', 'fortran_order': ", -1, 0, NULL, 0, "unterminated dict"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,", -1, 0, NULL, 0, "unterminated dict"},
        {1, 0, "{'descr': '<f4', 'fortran_order': 'False', 'shape': (3,)}", -1, 0, NULL, 0,
         "expected True or False for fortran_order, found '''"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False}", -1, 0, NULL, 0, "missing key 'shape'"},
        {1, 0, "{'fortran_order': False, 'shape': (3,)}", -1, 0, NULL, 0, "missing key 'descr'"},
        {1, 0, "{'descr': '<f4', 'shape': (3,)}", -1, 0, NULL, 0, "missing key 'fortran_order'"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", -1, 0, NULL, 0,
         "unexpected key 'extra'"},
        {1, 0, "{'descr': '<f4', 'shape': (2,), 'fortran_order': False, 'shape': (3,)}", -1, 0, NULL, 0,
         "duplicate key 'shape'"},
        {1, 0, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", -1, 24, NULL, 0,
         "unsupported dtype '<c8'"},
        {1, 0, "{'descr': '<V2', 'fortran_order': False, 'shape': (3,)}", -1, 6, NULL, 0,
         "unsupported dtype '<V2'"},
        {1, 0, "{'descr': '<f3', 'fortran_order': False, 'shape': (3,)}", -1, 9, NULL, 0,
         "unsupported dtype '<f3'"},
        {1, 0, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", -1, 12, NULL, 0,
         "structured dtypes are not supported"},
        {1, 0, "{'descr': '<f4', 'fortran_order': 1, 'shape': (3,)}", -1, 12, NULL, 0,
         "fortran_order must be True or False, found '1'"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", -1, 12, NULL, 0,
         "shape must be a tuple, found (3) without a comma"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", -1, 12, NULL, 0,
         "shape must be a tuple, found a list"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", -1, 0, NULL, 0,
         "negative dimension in shape"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", -1, 0, NULL, 0,
         "dimension too large in shape"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", -1, 0, NULL, 0,
         "shape overflows: too many elements"},
        {1, 0, "{'descr': '<u8', 'fortran_order': False, 'shape': (4611686018427387904,)}", -1, 0, NULL, 0,
         "shape overflows: too many elements"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}", -1, 4, NULL, 0,
         "rank above 8 is not supported"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3.5,)}", -1, 0, NULL, 0,
         "expected an integer in the shape, found '.' after digits"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", -1, 0, NULL, 0,
         "expected an integer in the shape, found ','"},
        {1, 0, good, -1, 20, NULL, 0, "truncated: expected 48 bytes of data, found 20"},
        {1, 0, good, -1, 0, NULL, 0, "truncated: expected 48 bytes of data, found 0"},
        {1, 0, good, -1, 50, NULL, 0, "trailing garbage: expected 48 bytes of data, found 50"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': ()} xyz", -1, 4, NULL, 0,
         "bad header: 'x' after the dict"},
        {1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}\x01", -1, 4, NULL, 0, "byte 0x01 after the dict"},
        {1, 0, "{'descr': '<f\x01', 'fortran_order': False, 'shape': ()}", -1, 4, NULL, 0,
         "unsupported character in string (byte 0x01)"},
        {1, 0, "{'descr': '<f4444444444444444444444444444444444444', 'fortran_order': False, 'shape': ()}", -1, 4,
         NULL, 0, "string too long"},
        {1, 0, "{'descr' '<f4', 'fortran_order': False, 'shape': ()}", -1, 4, NULL, 0, "expected ':' after a key"},
        {1, 0, "{'descr': '<f4' 'fortran_order': False, 'shape': ()}", -1, 4, NULL, 0,
         "expected ',' or '}' in the header dict"},
        {1, 0, "{descr: '<f4', 'fortran_order': False, 'shape': ()}", -1, 4, NULL, 0, "expected a quoted string"},
        {1, 0, "", -1, 0, NULL, 0, "unterminated dict"},
    };
    unsigned char *buf = malloc(80000);
    char err[512], path[300], head[320];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n;
        if (bad[i].header) {
            n = make_npy(buf, bad[i].major, bad[i].minor, bad[i].header, bad[i].hlen, bad[i].dlen);
        } else {
            memcpy(buf, bad[i].raw, bad[i].rawlen);
            n = bad[i].rawlen;
        }
        snprintf(path, sizeof path, "%s/bad_%zu.npy", dir, i);
        write_file(path, buf, n);
        NpyArray a;
        memset(err, 0, sizeof err);
        if (npy_read(path, &a, err, sizeof err) != -1)
            fail_msg("case %zu (%s): accepted", i, bad[i].reason);
        snprintf(head, sizeof head, "%s: ", path);
        if (strncmp(err, head, strlen(head)) || !strstr(err, bad[i].reason))
            fail_msg("case %zu: message \"%s\", want \"%s%s\"", i, err, head, bad[i].reason);
        assert_null(a.data);

        /* the same from memory */
        if (npy_read_buffer("mem", buf, n, &a, err, sizeof err) != -1 || strncmp(err, "mem: ", 5) ||
            !strstr(err, bad[i].reason))
            fail_msg("case %zu from memory: \"%s\", want \"%s\"", i, err, bad[i].reason);
        assert_null(a.data);
    }
    free(buf);

    NpyArray a;
    assert_int_equal(npy_read(dir, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, ": is a directory"));
    assert_int_equal(npy_read(path_in("missing.npy"), &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.npy: cannot open: No such file or directory"));
    assert_int_equal(npy_read(path_in("missing.npy"), &a, NULL, 0), -1); /* no message buffer */
    char tiny[8];
    assert_int_equal(npy_read(path_in("missing.npy"), &a, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 7); /* cut, terminated */
}

/* A pipe: no size to know ahead, read whole. */
static void test_reads_from_a_pipe(void **state)
{
    char err[512], cmd[600];
    const int64_t dims[] = {2, 2};
    const float x[] = {1, 2, 3, 4};
    assert_int_equal(npy_write(path_in("p.npy"), 1, 2, dims, x, err, sizeof err), 0);
    const char *fifo = path_in("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s' &", path_in("p.npy"), fifo);
    assert_int_equal(system(cmd), 0);
    NpyArray a;
    if (npy_read(fifo, &a, err, sizeof err))
        fail_msg("%s", err);
    assert_memory_equal(a.data, x, sizeof x);
    npy_free(&a);
}

/* ---- mutations ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void test_mutated_files_never_crash(void **state)
{
    static const char *headers[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n",
        "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3, 2), }\n",
        "{'descr': '|b1', 'fortran_order': False, 'shape': (), }\n",
    };
    static const char alphabet[] = "{}()[],:'\" 0123456789-TrueFalsdcipthL<>|=fiub\n\x00\xff";
    unsigned char base[256], buf[512];
    char err[256];
    int accepted = 0;
    for (int iter = 0; iter < 60000; iter++) {
        const char *h = headers[iter % 3];
        size_t dlen = iter % 3 == 0 ? 48 : iter % 3 == 1 ? 24 : 1;
        size_t n = make_npy(base, 1 + iter % 3 / 2, 0, h, -1, dlen);
        memcpy(buf, base, n);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = rnd() % n;
            switch (rnd() % 4) {
            case 0: buf[at] = (unsigned char)rnd(); break;
            case 1: buf[at] = (unsigned char)alphabet[rnd() % (sizeof alphabet - 1)]; break;
            case 2: n = at; break; /* truncate */
            default:
                if (n < sizeof buf) /* grow */
                    buf[n++] = (unsigned char)rnd();
            }
        }
        NpyArray a;
        if (npy_read_buffer("fuzz", buf, n, &a, err, sizeof err) == 0) {
            accepted++;
            int64_t numel = npy_numel(&a);
            assert_true(numel >= 0);
            assert_true(a.rank >= 0 && a.rank <= NPY_MAX_RANK);
            assert_int_equal((size_t)numel * code_size(a.dtype), a.bytes);
            volatile unsigned char sink = 0;
            for (size_t i = 0; i < a.bytes; i++)
                sink ^= ((unsigned char *)a.data)[i];
            (void)sink;
            npy_free(&a);
        } else {
            assert_null(a.data);
            assert_true(strncmp(err, "fuzz: ", 6) == 0);
        }
    }
    print_message("%d of 60000 mutated files were still valid\n", accepted);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/qkc-npy-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s -c 'import numpy' 2>/dev/null", PYTHON3);
    have_numpy = system(cmd) == 0;
    if (!have_numpy)
        print_message("numpy not found at %s: its tests are skipped\n", PYTHON3);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_dtype_and_rank),
        cmocka_unit_test(test_round_trip_empty_and_errors),
        cmocka_unit_test(test_reads_numpy_files),
        cmocka_unit_test(test_numpy_reads_our_files),
        cmocka_unit_test(test_accepts_header_spellings),
        cmocka_unit_test(test_refuses_malformed_files),
        cmocka_unit_test(test_reads_from_a_pipe),
        cmocka_unit_test(test_mutated_files_never_crash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
