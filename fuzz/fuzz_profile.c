/* fuzz_profile.c — libFuzzer target: the calibration profile reader
 * (passes/profile_read.c). profile_read takes a path, so each input is
 * written to one memfd and read back through /proc/self/fd/N (no file per
 * input). A profile that reads must also write, and read back again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "passes/calib.h"

static int memfd = -1;
static char mem_path[64];
static char tmp_dir[64], tmp_file[96];

static void cleanup(void)
{
    unlink(tmp_file);
    rmdir(tmp_dir);
}

static void setup(void)
{
    memfd = memfd_create("qkc-fuzz-profile", MFD_CLOEXEC);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/qkc-fuzz-profile-XXXXXX");
    if (memfd < 0 || !mkdtemp(tmp_dir))
        abort();
    snprintf(mem_path, sizeof mem_path, "/proc/self/fd/%d", memfd);
    snprintf(tmp_file, sizeof tmp_file, "%s/p.qprofile", tmp_dir);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0)
        setup();
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
        abort();
    Diag d;
    diag_init(&d, NULL);
    CalibProfile p;
    if (profile_read(mem_path, &p, &d)) {
        if (d.errors)
            abort();
        /* what was read writes a profile that reads */
        CalibProfile q;
        if (!profile_write(&p, tmp_file, &d) || !profile_read(tmp_file, &q, &d)) {
            fprintf(stderr, "%s", d.buf ? d.buf : "");
            abort();
        }
        if (q.ntensors != p.ntensors || q.samples != p.samples || strcmp(q.model_hash, p.model_hash) != 0)
            abort();
        profile_free(&q);
        profile_free(&p);
    } else if (d.errors == 0) {
        abort(); /* a failure must say why */
    }
    diag_fini(&d);
    return 0;
}
