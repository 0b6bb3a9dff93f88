"""seq_task.py -- the sequence task of models/seqformer.onnx, generated
deterministically (numpy's PCG64 with fixed seeds: the same arrays on every
machine and numpy >= 1.17), so that no data file is shipped: training
(models/train_real.py), the tests and the benchmarks all call it.

A sample is SEQ token ids: MARKERS marker tokens (0 .. CLASSES-1) among
distractors (CLASSES .. VOCAB-1). One marker, the label, occurs more often
than any other (3 to 6 times; two or three other markers 1 less at most);
the rest are distractors, and the positions are shuffled.

    ids, labels = seq_task.test_set()    # int64 [512, SEQ], int64 [512]
    ids = seq_task.calib_set()           # int64 [128, SEQ]"""
import numpy as np

VOCAB, SEQ, CLASSES = 24, 32, 8
TRAIN_SEED, TEST_SEED, CALIB_SEED = 1, 2, 3


def make(seed, n):
    rng = np.random.default_rng(seed)
    ids = np.empty((n, SEQ), np.int64)
    labels = np.empty(n, np.int64)
    for i in range(n):
        label = int(rng.integers(CLASSES))
        top = int(rng.integers(3, 7))
        others = rng.permutation([c for c in range(CLASSES) if c != label])[:int(rng.integers(2, 4))]
        toks = [label] * top
        for c in others:
            toks += [int(c)] * int(rng.integers(1, top))
        toks += list(rng.integers(CLASSES, VOCAB, SEQ - len(toks)))
        ids[i] = rng.permutation(np.array(toks, np.int64))
        labels[i] = label
    return ids, labels


def test_set():
    return make(TEST_SEED, 512)


def calib_set():
    return make(CALIB_SEED, 128)[0]
