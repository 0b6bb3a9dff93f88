/* run.c — `qkc run`'s core: match --input NAME=FILE.npy to the model's
 * inputs, check dtypes and shapes (the batch comes from the data), run
 * through the runtime, write every output as DIR/<name>.npy. */
#include "run.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qkc/qkrt.h"
#include "runtime/npy.h"

int run_elf_machine(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char h[20];
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    if (n < 20 || memcmp(h, "\177ELF", 4) != 0)
        return 0;
    return h[18] | (h[19] << 8);
}

static const char *dims_str(int rank, const int64_t *dims, bool batch, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i == 0 && batch && dims[i] < 0 ? "%sN" : "%s%lld", i ? "," : "",
                              (long long)dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* A file name for an output: the tensor name with '/' and other odd
 * characters replaced. */
static void file_name(char *dst, size_t n, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n; p++)
        dst[k++] = (*p == '/' || *p == '\\' || (unsigned char)*p < 32) ? '_' : *p;
    if (k == 0 || (k <= 2 && dst[0] == '.'))
        dst[k++] = '_';
    dst[k] = 0;
}

int run_artifact(const RunArgs *a, FILE *err)
{
    int rc = 1;
    qkrt_model *m = NULL;
    qkrt_context *c = NULL;
    NpyArray *in = NULL;
    void **outs = NULL;
    size_t *out_bytes = NULL, *in_bytes = NULL;
    const void **inp = NULL;
    int nin = 0, nout = 0;

    if (qkrt_model_load(a->artifact, &m) != QKRT_OK) {
        fprintf(err, "qkc run: %s\n", qkrt_error_message());
        return 1;
    }
    nin = qkrt_model_num_inputs(m);
    nout = qkrt_model_num_outputs(m);
    in = calloc((size_t)nin + 1, sizeof *in);
    inp = calloc((size_t)nin + 1, sizeof *inp);
    in_bytes = calloc((size_t)nin + 1, sizeof *in_bytes);
    outs = calloc((size_t)nout + 1, sizeof *outs);
    out_bytes = calloc((size_t)nout + 1, sizeof *out_bytes);
    bool *given = calloc((size_t)nin + 1, 1);
    if (!in || !inp || !in_bytes || !outs || !out_bytes || !given) {
        fprintf(err, "qkc run: out of memory\n");
        goto done;
    }

    /* read every --input, matched to the model's inputs by name */
    for (int i = 0; i < a->ninputs; i++) {
        const char *spec = a->input_specs[i], *eq = strchr(spec, '=');
        const char *file = eq ? eq + 1 : spec;
        int idx;
        if (eq) {
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
            idx = qkrt_model_find_input(m, name);
            if (idx < 0) {
                fprintf(err, "qkc run: --input %s: the model has no input '%s' (inputs:", spec, name);
                for (int k = 0; k < nin; k++)
                    fprintf(err, " '%s'", qkrt_model_input(m, k)->name);
                fprintf(err, ")\n");
                goto done;
            }
        } else if (nin == 1) {
            idx = 0;
        } else {
            fprintf(err, "qkc run: --input %s: the model has %d inputs; write NAME=FILE.npy\n", spec, nin);
            goto done;
        }
        if (given[idx]) {
            fprintf(err, "qkc run: input '%s' is given twice\n", qkrt_model_input(m, idx)->name);
            goto done;
        }
        char msg[512];
        if (npy_read(file, &in[idx], msg, sizeof msg) != 0) {
            fprintf(err, "qkc run: %s\n", msg);
            goto done;
        }
        given[idx] = 1;
    }

    /* check them and find the batch */
    int64_t batch = -1;
    for (int i = 0; i < nin; i++) {
        const qkrt_tensor_desc *t = qkrt_model_input(m, i);
        if (!given[i]) {
            fprintf(err, "qkc run: input '%s' is missing (--input %s=FILE.npy)\n", t->name, t->name);
            goto done;
        }
        char want[128], got[128];
        bool has_batch = t->rank > 0 && t->dims[0] == QKRT_DIM_BATCH;
        dims_str(t->rank, t->dims, true, want, sizeof want);
        dims_str(in[i].rank, in[i].dims, false, got, sizeof got);
        if (t->dtype == 16 && in[i].dtype == 4) /* bfloat16 comes as uint16 bits */
            in[i].dtype = 16;
        if (in[i].dtype != t->dtype) {
            fprintf(err, "qkc run: input '%s': the .npy holds %s %s, the model wants %s %s", t->name,
                    qkrt_dtype_name(in[i].dtype), got, qkrt_dtype_name(t->dtype), want);
            if (t->scale > 0)
                fprintf(err, " quantized with scale %.9g and zero point %d (it was compiled with --io int8: "
                             "q = saturate(round_half_even(x / scale) + zero_point))",
                        t->scale, (int)t->zero_point);
            fprintf(err, "\n");
            goto done;
        }
        bool ok = in[i].rank == t->rank;
        for (int k = 0; ok && k < t->rank; k++)
            ok = (k == 0 && has_batch) ? in[i].dims[0] >= 1 : in[i].dims[k] == t->dims[k];
        if (!ok) {
            fprintf(err, "qkc run: input '%s': the .npy has shape %s, the model wants %s\n", t->name, got, want);
            goto done;
        }
        if (has_batch) {
            if (batch >= 0 && in[i].dims[0] != batch) {
                fprintf(err, "qkc run: input '%s' has batch %lld, another input %lld\n", t->name,
                        (long long)in[i].dims[0], (long long)batch);
                goto done;
            }
            batch = in[i].dims[0];
        }
        inp[i] = in[i].data;
        in_bytes[i] = in[i].bytes;
    }
    if (batch < 0)
        batch = 1;
    for (int i = 0; i < nout; i++) {
        out_bytes[i] = qkrt_tensor_bytes(qkrt_model_output(m, i), batch);
        outs[i] = calloc(1, out_bytes[i] ? out_bytes[i] : 1);
        if (!outs[i]) {
            fprintf(err, "qkc run: out of memory for output '%s'\n", qkrt_model_output(m, i)->name);
            goto done;
        }
    }
    if (qkrt_context_create(m, &c) != QKRT_OK ||
        (a->threads > 0 && qkrt_context_set_threads(c, a->threads) != QKRT_OK)) {
        fprintf(err, "qkc run: %s\n", qkrt_error_message());
        goto done;
    }
    for (int r = 0; r < (a->repeat > 0 ? a->repeat : 1); r++)
        if (qkrt_run(c, batch, inp, in_bytes, outs, out_bytes) != QKRT_OK) {
            fprintf(err, "qkc run: %s\n", qkrt_error_message());
            goto done;
        }

    if (a->output_dir) {
        if (mkdir(a->output_dir, 0777) != 0 && errno != EEXIST) {
            fprintf(err, "qkc run: cannot create %s: %s\n", a->output_dir, strerror(errno));
            goto done;
        }
        for (int i = 0; i < nout; i++) {
            const qkrt_tensor_desc *t = qkrt_model_output(m, i);
            int64_t dims[8];
            for (int k = 0; k < t->rank && k < 8; k++)
                dims[k] = t->dims[k] == QKRT_DIM_BATCH ? batch : t->dims[k];
            char fname[256], path[4096], msg[512];
            file_name(fname, sizeof fname, t->name);
            snprintf(path, sizeof path, "%s/%s.npy", a->output_dir, fname);
            if (npy_write(path, t->dtype, t->rank, dims, outs[i], msg, sizeof msg) != 0) {
                fprintf(err, "qkc run: %s\n", msg);
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (c)
        qkrt_context_free(c);
    for (int i = 0; in && i < nin; i++)
        npy_free(&in[i]);
    for (int i = 0; outs && i < nout; i++)
        free(outs[i]);
    free(given);
    free(in);
    free(inp);
    free(in_bytes);
    free(outs);
    free(out_bytes);
    qkrt_model_free(m);
    return rc;
}
