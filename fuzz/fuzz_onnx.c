/* fuzz_onnx.c — libFuzzer target: the binary ONNX reader and the importer
 * (frontend/onnx_read.c, onnx_import.c, onnx_tensor.c) on bytes from memory.
 *
 * External data is read from a sandbox folder made once per process:
 *   ROOT/model/w.bin       64 KiB of data        ROOT/model/sub/  a folder
 *   ROOT/model/in_link  -> w.bin                 ROOT/outside.bin
 *   ROOT/model/out_link -> ../outside.bin        ROOT/model/fifo  a FIFO
 * so locations, offsets and lengths (and the confinement checks) are
 * exercised without touching any other file. Whatever the input, the
 * import either gives a graph with no error or fails with at least one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"

static char root[64], dir[96];

static void path_in(char *buf, size_t n, const char *base, const char *name)
{
    snprintf(buf, n, "%s/%s", base, name);
}

static void cleanup(void)
{
    static const char *files[] = {"w.bin", "in_link", "out_link", "fifo"};
    char p[160];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        path_in(p, sizeof p, dir, files[i]), unlink(p);
    path_in(p, sizeof p, dir, "sub"), rmdir(p);
    rmdir(dir);
    path_in(p, sizeof p, root, "outside.bin"), unlink(p);
    rmdir(root);
}

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    for (size_t i = 0; i < n; i++)
        fputc((int)((i * 37 + 11) & 0xff), f);
    fclose(f);
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/qkc-fuzz-onnx-XXXXXX");
    if (!mkdtemp(root))
        abort();
    path_in(dir, sizeof dir, root, "model");
    char p[160];
    if (mkdir(dir, 0700) != 0)
        abort();
    atexit(cleanup);
    path_in(p, sizeof p, dir, "w.bin"), write_file(p, 65536);
    path_in(p, sizeof p, root, "outside.bin"), write_file(p, 4096);
    path_in(p, sizeof p, dir, "sub"), mkdir(p, 0700);
    path_in(p, sizeof p, dir, "in_link"), (void)!symlink("w.bin", p);
    path_in(p, sizeof p, dir, "out_link"), (void)!symlink("../outside.bin", p);
    path_in(p, sizeof p, dir, "fifo"), mkfifo(p, 0600);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!*root)
        setup();
    Diag d;
    diag_init(&d, NULL);
    ModelFile mf;
    memset(&mf, 0, sizeof mf);
    if (onnx_read_buffer("fuzz.onnx", data, size, &mf, &d)) {
        mf.data_dir = strdup(dir);
        Graph *g = onnx_import(&mf, NULL, &d);
        if (g ? d.errors != 0 : d.errors == 0)
            abort(); /* a graph despite errors, or a failure that says nothing */
        ir_graph_free(g);
    } else if (d.errors == 0) {
        abort();
    }
    model_file_free(&mf);
    diag_fini(&d);
    return 0;
}
