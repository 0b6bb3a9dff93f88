/* main.c — classify the bundled digits test images with the CNN compiled by
 * qkc_add_model() (see CMakeLists.txt next to this file).
 *
 *   digits [X.npy]        default: models/digits_test_x.npy
 *
 * Prints "image I: class C" per image. The model is a shared object loaded
 * at run time (DIGITS_MODEL: its path) or an object file linked into the
 * program (DIGITS_HEADER, DIGITS_ARTIFACT: its header and descriptor);
 * either way the runtime (qkrt.h) checks and runs it, all images as one
 * batch. The same file builds with pkg-config alone:
 *
 *   cc main.c -DDIGITS_MODEL='"cnn.so"' -DDIGITS_TEST_X='"x.npy"' $(pkg-config --cflags --libs qkrt) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qkc/qkrt.h>
#ifdef DIGITS_HEADER
#include DIGITS_HEADER
#endif

/* The data of a .npy file of little-endian float32 in C order (what
 * numpy.save writes for a float32 array), or NULL with a message. */
static float *read_npy_f32(const char *path, size_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char pre[12];
    size_t start = 0, header = 0; /* the header dict's first byte, the data's */
    if (fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0) {
        if (pre[6] == 1)
            start = 10, header = 10 + (pre[8] | (size_t)pre[9] << 8);
        else if (fread(pre + 10, 1, 2, f) == 2)
            start = 12, header = 12 + (pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24);
    }
    char *dict = header ? calloc(1, header - start + 1) : NULL;
    float *data = NULL;
    long end = 0;
    if (dict && fread(dict, 1, header - start, f) == header - start && strstr(dict, "'descr': '<f4'") &&
        strstr(dict, "'fortran_order': False") && fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= (long)header &&
        fseek(f, (long)header, SEEK_SET) == 0) {
        *bytes = (size_t)end - header;
        data = malloc(*bytes ? *bytes : 1);
        if (data && fread(data, 1, *bytes, f) != *bytes) {
            free(data);
            data = NULL;
        }
    }
    if (!data)
        fprintf(stderr, "%s: not a .npy of float32 in C order\n", path);
    free(dict);
    fclose(f);
    return data;
}

static int argmax(const float *v, int64_t n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    const char *x_path = argc > 1 ? argv[1] : DIGITS_TEST_X;
    qkrt_model *m;
    qkrt_context *c;
#ifdef DIGITS_ARTIFACT
    qkrt_status s = qkrt_model_from_artifact(DIGITS_ARTIFACT(), &m);
#else
    qkrt_status s = qkrt_model_load(DIGITS_MODEL, &m);
#endif
    if (s != QKRT_OK || qkrt_context_create(m, &c) != QKRT_OK) {
        fprintf(stderr, "digits: %s\n", qkrt_error_message());
        return 1;
    }
    const qkrt_tensor_desc *in = qkrt_model_input(m, 0), *out = qkrt_model_output(m, 0);
    size_t image_bytes = qkrt_tensor_bytes(in, 1), x_bytes;
    float *x = read_npy_f32(x_path, &x_bytes);
    if (!x)
        return 1;
    if (x_bytes == 0 || x_bytes % image_bytes) {
        fprintf(stderr, "digits: %s holds %zu bytes, not a whole number of %zu-byte images\n", x_path, x_bytes,
                image_bytes);
        return 1;
    }
    int64_t n = (int64_t)(x_bytes / image_bytes), classes = out->dims[out->rank - 1];
    size_t logits_bytes = qkrt_tensor_bytes(out, n);
    float *logits = malloc(logits_bytes);
    const void *ins[] = {x};
    void *outs[] = {logits};
    if (!logits || qkrt_run(c, n, ins, &x_bytes, outs, &logits_bytes) != QKRT_OK) {
        fprintf(stderr, "digits: %s\n", logits ? qkrt_error_message() : "out of memory");
        return 1;
    }
    for (int64_t i = 0; i < n; i++)
        printf("image %lld: class %d\n", (long long)i, argmax(logits + i * classes, classes));
    free(logits);
    free(x);
    qkrt_context_free(c);
    qkrt_model_free(m);
    return 0;
}
