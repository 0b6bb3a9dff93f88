/* model.c — one entry for both model syntaxes, and the file reader. */
#include "frontend.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

char *fe_read_file(const char *path, size_t *len, Diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_error(d, loc_file(path), "cannot open: %s", strerror(errno)), NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return diag_error(d, loc_file(path), "not a regular file"), NULL;
    }
    if ((unsigned long long)st.st_size > FE_MAX_FILE_BYTES) {
        fclose(f);
        return diag_error(d, loc_file(path), "file too large (%lld bytes; the limit is %zu)", (long long)st.st_size,
                          FE_MAX_FILE_BYTES),
               NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return diag_error(d, loc_file(path), "out of memory reading %zu bytes", n), NULL;
    }
    size_t got = fread(buf, 1, n, f);
    bool err = ferror(f);
    fclose(f);
    if (err || got != n) {
        free(buf);
        return diag_error(d, loc_file(path), "read error"), NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool model_read(const char *path, ModelFile *mf, Diag *d)
{
    memset(mf, 0, sizeof *mf);
    bool text = ends_with(path, ".onnxtxt") || ends_with(path, ".txt");
    if (text) {
        size_t len;
        char *src = fe_read_file(path, &len, d);
        if (!src)
            return false;
        mf->text = src;
        mf->text_len = len;
        mf->path = path;
        return text_parse_model(path, src, len, mf, d);
    }
    return onnx_read_file(path, mf, d);
}

int64_t model_const_bound(int64_t model_bytes)
{
    int64_t floor = (int64_t)FE_CONST_BOUND_MIN_MIB << 20;
    if (model_bytes > INT64_MAX / FE_CONST_BOUND_FACTOR)
        return INT64_MAX;
    return model_bytes * FE_CONST_BOUND_FACTOR > floor ? model_bytes * FE_CONST_BOUND_FACTOR : floor;
}

void model_file_free(ModelFile *mf)
{
    if (mf->proto && mf->unpacked)
        onnx__model_proto__free_unpacked(mf->proto, NULL);
    if (mf->arena)
        arena_free(mf->arena);
    free(mf->text);
    free(mf->data_dir);
    memset(mf, 0, sizeof *mf);
}

Graph *model_load(const char *path, const ImportOptions *opt, Diag *d)
{
    ModelFile mf;
    if (!model_read(path, &mf, d)) {
        model_file_free(&mf);
        return NULL;
    }
    Graph *g = onnx_import(&mf, opt, d);
    model_file_free(&mf);
    return g;
}
