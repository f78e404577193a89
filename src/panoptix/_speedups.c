/* panoptix._speedups: PNG unfiltering (panoptix.io.png) and pixel-pair counting (panoptix.metrics).
 *
 * PNG decoding is most of the work of a semantic or panoptic folder evaluation. Python
 * parses the chunks and inflates the data (zlib-ng when installed); these functions do the
 * per-byte work that numpy cannot vectorise (the Sub, Average and Paeth filters depend on
 * the byte just decoded) and count label pairs run by run. Each releases the GIL, so a
 * thread pool uses every core from one process.
 *
 * unfilter(src, dst, height, rowbytes, bpp)
 *     src: height rows of (filter byte + rowbytes bytes); dst: height * rowbytes bytes.
 * count_u8_pairs(gt, pred) -> (keys, counts)
 *     One byte per pixel; keys are gt << 8 | pred, both int64 bytes, one per distinct pair,
 *     in key order.
 * count_id_pairs(gt, pred, gt_step, pred_step) -> (keys, counts)
 *     Pixel ids are the first three bytes of each pixel (R + 256 G + 65536 B, little end
 *     first); keys are gt_id << 24 | pred_id, counts, both int64 bytes, one per
 *     distinct pair, in no particular order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The Paeth predictor without branches: on label maps the choice flips at every edge, and
 * mispredicted branches made Paeth rows ten times slower than the others. */
static inline uint8_t paeth(int a, int b, int c) {
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int near_b = pb <= pc ? b : c;
    return (uint8_t)(pa <= pb && pa <= pc ? a : near_b);
}

/* Sub, Average and Paeth depend on the byte decoded bpp places before. Carrying those bytes
 * in registers (the arrays below, with bpp a constant after inlining) instead of reading them
 * back from `out` avoids a store-to-load round trip per byte, the bulk of the time. */
static inline void sub_row(const uint8_t *restrict in, uint8_t *restrict out, Py_ssize_t n, const int bpp) {
    uint8_t a[4] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i += bpp)
        for (int k = 0; k < bpp; k++) out[i + k] = a[k] = (uint8_t)(in[i + k] + a[k]);
}

static inline void average_row(const uint8_t *restrict in, uint8_t *restrict out, const uint8_t *restrict up,
                               Py_ssize_t n, const int bpp) {
    uint8_t a[4] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i += bpp)
        for (int k = 0; k < bpp; k++) out[i + k] = a[k] = (uint8_t)(in[i + k] + ((a[k] + up[i + k]) >> 1));
}

static inline void paeth_row(const uint8_t *restrict in, uint8_t *restrict out, const uint8_t *restrict up,
                             Py_ssize_t n, const int bpp) {
    uint8_t a[4] = {0, 0, 0, 0}, c[4] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i += bpp)
        for (int k = 0; k < bpp; k++) {
            uint8_t b = up[i + k];
            /* Under a flat stretch of the row above (b == c) Paeth picks a: a one-cycle chain
             * instead of the whole predictor, and a branch that depends only on the row above. */
            out[i + k] = a[k] = (uint8_t)(in[i + k] + (b == c[k] ? a[k] : paeth(a[k], b, c[k])));
            c[k] = b;
        }
}

#define BY_BPP(call_with_bpp)                                                                              \
    switch (bpp) {                                                                                         \
    case 1: call_with_bpp(1); break;                                                                       \
    case 2: call_with_bpp(2); break;                                                                       \
    case 3: call_with_bpp(3); break;                                                                       \
    default: call_with_bpp(4); break;                                                                      \
    }

/* Returns -1 on success, -2 when out of memory, else the first row with an unknown filter type.
 * bpp is 1 to 4 and divides rowbytes. */
static Py_ssize_t unfilter_rows(const uint8_t *src, uint8_t *dst, Py_ssize_t height, Py_ssize_t rowbytes,
                                int bpp) {
    uint8_t *zeros = calloc((size_t)rowbytes + 1, 1); /* the row "above" the first row */
    if (!zeros) return -2;
    const uint8_t *up = zeros;
    Py_ssize_t bad = -1;
    for (Py_ssize_t y = 0; y < height && bad < 0; y++) {
        const uint8_t *restrict in = src + y * (rowbytes + 1) + 1;
        uint8_t *restrict out = dst + y * rowbytes;
        const uint8_t *restrict prior = up;
        switch (in[-1]) {
        case 0: memcpy(out, in, (size_t)rowbytes); break;
        case 1:
#define SUB(B) sub_row(in, out, rowbytes, B)
            BY_BPP(SUB)
            break;
        case 2:
            for (Py_ssize_t i = 0; i < rowbytes; i++) out[i] = (uint8_t)(in[i] + prior[i]);
            break;
        case 3:
#define AVERAGE(B) average_row(in, out, prior, rowbytes, B)
            BY_BPP(AVERAGE)
            break;
        case 4:
#define PAETH(B) paeth_row(in, out, prior, rowbytes, B)
            BY_BPP(PAETH)
            break;
        default: bad = y;
        }
        up = out;
    }
    free(zeros);
    return bad;
}

static PyObject *unfilter(PyObject *self, PyObject *args) {
    Py_buffer src, dst;
    Py_ssize_t height, rowbytes, bpp;
    if (!PyArg_ParseTuple(args, "y*w*nnn", &src, &dst, &height, &rowbytes, &bpp)) return NULL;
    PyObject *result = NULL;
    if (height < 0 || rowbytes < 0 || bpp < 1 || bpp > 4 || rowbytes % bpp) {
        PyErr_SetString(PyExc_ValueError, "bad image geometry");
    } else if (src.len != height * (rowbytes + 1) || dst.len != height * rowbytes) {
        PyErr_Format(PyExc_ValueError, "image data is %zd bytes, expected %zd", src.len, height * (rowbytes + 1));
    } else {
        Py_ssize_t bad;
        Py_BEGIN_ALLOW_THREADS
        bad = unfilter_rows((const uint8_t *)src.buf, (uint8_t *)dst.buf, height, rowbytes, (int)bpp);
        Py_END_ALLOW_THREADS
        if (bad == -2) {
            PyErr_NoMemory();
        } else if (bad >= 0) {
            PyErr_Format(PyExc_ValueError, "unknown PNG filter type %d in row %zd",
                         ((const uint8_t *)src.buf)[bad * (rowbytes + 1)], bad);
        } else {
            result = Py_NewRef(Py_None);
        }
    }
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return result;
}

/* The first byte index j in [from, n) where a[j] != a[j - s] or b[j] != b[j - s], else n.
 * Label maps are long runs of one value, so this compares 8 bytes at a time. */
static Py_ssize_t next_change(const uint8_t *a, const uint8_t *b, Py_ssize_t from, Py_ssize_t n, Py_ssize_t s) {
    Py_ssize_t j = from;
    for (; j + 8 <= n; j += 8) {
        uint64_t x, y, u, v;
        memcpy(&x, a + j, 8);
        memcpy(&y, a + j - s, 8);
        memcpy(&u, b + j, 8);
        memcpy(&v, b + j - s, 8);
        if ((x ^ y) | (u ^ v)) break;
    }
    for (; j < n; j++)
        if (a[j] != a[j - s] || b[j] != b[j - s]) return j;
    return n;
}

/* Two int64 buffers of n entries as a (keys, counts) tuple of bytes objects. */
static PyObject *pairs_result(const int64_t *keys, const int64_t *counts, size_t n) {
    PyObject *k = PyBytes_FromStringAndSize((const char *)keys, (Py_ssize_t)(n * sizeof(int64_t)));
    PyObject *c = PyBytes_FromStringAndSize((const char *)counts, (Py_ssize_t)(n * sizeof(int64_t)));
    PyObject *result = k && c ? PyTuple_Pack(2, k, c) : NULL;
    Py_XDECREF(k);
    Py_XDECREF(c);
    return result;
}

static PyObject *count_u8_pairs(PyObject *self, PyObject *args) {
    Py_buffer gt, pred;
    if (!PyArg_ParseTuple(args, "y*y*", &gt, &pred)) return NULL;
    PyObject *result = NULL;
    int64_t *table = NULL, *keys = NULL, *counts = NULL;
    if (gt.len != pred.len) {
        PyErr_SetString(PyExc_ValueError, "ground truth and prediction differ in size");
    } else if (!(table = calloc(65536, sizeof(int64_t))) || !(keys = malloc(65536 * sizeof(int64_t))) ||
               !(counts = malloc(65536 * sizeof(int64_t)))) {
        PyErr_NoMemory();
    } else {
        const uint8_t *g = gt.buf, *p = pred.buf;
        Py_ssize_t n = gt.len;
        size_t used = 0;
        Py_BEGIN_ALLOW_THREADS
        /* One table update per run of one pair. */
        for (Py_ssize_t start = 0, end; start < n; start = end) {
            end = next_change(g, p, start + 1, n, 1);
            table[(unsigned)g[start] << 8 | p[start]] += end - start;
        }
        for (int k = 0; k < 65536; k++)
            if (table[k]) {
                keys[used] = k;
                counts[used++] = table[k];
            }
        Py_END_ALLOW_THREADS
        result = pairs_result(keys, counts, used);
    }
    free(table);
    free(keys);
    free(counts);
    PyBuffer_Release(&gt);
    PyBuffer_Release(&pred);
    return result;
}

/* An open-addressing table of (pair key -> count); keys are below 2^48, so ~0 marks a free slot. */
typedef struct {
    uint64_t *keys;
    int64_t *counts;
    size_t mask, used;
} PairTable;

#define FREE_SLOT UINT64_MAX

static int table_init(PairTable *t, size_t capacity) {
    t->keys = malloc(capacity * sizeof(uint64_t));
    t->counts = calloc(capacity, sizeof(int64_t));
    if (!t->keys || !t->counts) return -1;
    memset(t->keys, 0xFF, capacity * sizeof(uint64_t));
    t->mask = capacity - 1;
    t->used = 0;
    return 0;
}

static inline size_t slot_of(uint64_t key, size_t mask) {
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
}

static int table_add(PairTable *t, uint64_t key, int64_t n);

static int table_grow(PairTable *t) {
    PairTable bigger;
    if (table_init(&bigger, (t->mask + 1) * 2) < 0) return -1;
    for (size_t i = 0; i <= t->mask; i++)
        if (t->keys[i] != FREE_SLOT) table_add(&bigger, t->keys[i], t->counts[i]);
    free(t->keys);
    free(t->counts);
    *t = bigger;
    return 0;
}

static int table_add(PairTable *t, uint64_t key, int64_t n) {
    size_t s = slot_of(key, t->mask);
    while (t->keys[s] != FREE_SLOT && t->keys[s] != key) s = (s + 1) & t->mask;
    if (t->keys[s] == FREE_SLOT) {
        t->keys[s] = key;
        if (++t->used * 2 > t->mask + 1) {
            t->counts[s] = n;
            return table_grow(t);
        }
    }
    t->counts[s] += n;
    return 0;
}

static inline uint64_t pixel_id(const uint8_t *px) {
    return (uint64_t)px[0] | (uint64_t)px[1] << 8 | (uint64_t)px[2] << 16;
}

static PyObject *count_id_pairs(PyObject *self, PyObject *args) {
    Py_buffer gt, pred;
    Py_ssize_t gstep, pstep;
    if (!PyArg_ParseTuple(args, "y*y*nn", &gt, &pred, &gstep, &pstep)) return NULL;
    PyObject *result = NULL;
    PairTable t = {NULL, NULL, 0, 0};
    if (gstep < 3 || pstep < 3 || gt.len % gstep || pred.len % pstep || gt.len / gstep != pred.len / pstep) {
        PyErr_SetString(PyExc_ValueError, "ground truth and prediction differ in size");
    } else if (table_init(&t, 1024) < 0) {
        PyErr_NoMemory();
    } else {
        const uint8_t *g = gt.buf, *p = pred.buf;
        Py_ssize_t n = gt.len / gstep;
        int failed = 0;
        Py_BEGIN_ALLOW_THREADS
        if (gstep == pstep) {
            /* Byte-wise run scan; a change in an ignored alpha byte only splits a run. */
            Py_ssize_t s = gstep, nbytes = n * s;
            for (Py_ssize_t start = 0, end; start < n && !failed; start = end) {
                end = next_change(g, p, (start + 1) * s, nbytes, s) / s;
                failed = table_add(&t, pixel_id(g + start * s) << 24 | pixel_id(p + start * s), end - start) < 0;
            }
        } else if (n > 0) {
            uint64_t key = pixel_id(g) << 24 | pixel_id(p);
            int64_t run = 1;
            for (Py_ssize_t i = 1; i < n && !failed; i++) {
                uint64_t k = pixel_id(g + i * gstep) << 24 | pixel_id(p + i * pstep);
                if (k == key) {
                    run++;
                } else {
                    failed = table_add(&t, key, run) < 0;
                    key = k;
                    run = 1;
                }
            }
            if (!failed) failed = table_add(&t, key, run) < 0;
        }
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
        } else {
            /* Compact the table in place: used slots to the front, in slot order. */
            size_t j = 0;
            for (size_t i = 0; i <= t.mask; i++)
                if (t.keys[i] != FREE_SLOT) {
                    t.keys[j] = t.keys[i];
                    t.counts[j++] = t.counts[i];
                }
            result = pairs_result((const int64_t *)t.keys, t.counts, j);
        }
    }
    free(t.keys);
    free(t.counts);
    PyBuffer_Release(&gt);
    PyBuffer_Release(&pred);
    return result;
}

static PyMethodDef methods[] = {
    {"unfilter", unfilter, METH_VARARGS, "unfilter(src, dst, height, rowbytes, bpp): undo PNG row filters."},
    {"count_u8_pairs", count_u8_pairs, METH_VARARGS,
     "count_u8_pairs(gt, pred) -> (keys, counts): distinct 8-bit value pairs."},
    {"count_id_pairs", count_id_pairs, METH_VARARGS,
     "count_id_pairs(gt, pred, gt_step, pred_step) -> (keys, counts): distinct 24-bit id pairs."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", "PNG unfiltering and label-pair counting.",
                                    -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
