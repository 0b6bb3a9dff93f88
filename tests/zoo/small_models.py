#!/usr/bin/python3
"""small_models.py -- CI-sized members of the model zoo's families (issue 9),
exported to ONNX with PyTorch's outputs saved beside them as the oracle.

Each family is built from torchvision's own building blocks (ResNet's
BasicBlock and Bottleneck, MobileNetV2/V3, EfficientNet, SqueezeNet's Fire,
ShuffleNetV2, DenseNet, GoogLeNet's and Inception v3's branch modules,
RegNet, ConvNeXt) with small widths and 32x32 to 64x64 images, or, for the
transformers, from plain PyTorch modules written the way HuggingFace
transformers 4.38 writes BERT, GPT-2, ViT and Whisper's encoder, so that the
export gives the same op patterns (embedding Gathers, the int64 attention
mask made additive with (1 - mask) * finfo.min, view/permute/matmul
attention with sizes taken from x.size(), LayerNormalization, exact GELU
through Erf, GPT-2's causal-mask buffer sliced to [:, :, :T, :T] and applied
with torch.where, Conv1D as addmm, gelu_new with pow(x, 3), ViT's class token
expanded to x.shape[0], Whisper's two Conv1d + GELU).

Weights are random with fixed seeds (nothing is downloaded). BatchNorm and
LayerNorm get random affine parameters and BatchNorm running statistics come
from a few train-mode forward passes over random inputs, so activations stay
O(1) through the net (unit statistics would let them explode and tell
nothing about quantization).

Every model is exported with a dynamic batch (dim 0 named "N") at each
opset asked for; BERT's and GPT-2's sequence dim is symbolic too, named
"seq" (compile with `--dim seq=16`). For each model OUT_DIR holds

  NAME_opK.onnx                 the model at opset K
  NAME.INPUT.npy                the test input (batch 2), one file per input
  NAME.INPUT.calib.npy          8 calibration samples, one file per input
  NAME.OUTPUT.ref.npy           PyTorch's output on the test input

and OUT_DIR/manifest.json describes them all. Run with Debian's python3
(python3-torch 1.13, python3-torchvision 0.14, python3-onnx, numpy):

    /usr/bin/python3 tests/zoo/small_models.py OUT_DIR [--models a,b] [--opsets 13,17] [--list]

A manifest whose key (this file's hash, torch's version, the opsets) matches
is reused: the models are rebuilt only when something changed."""
import argparse
import hashlib
import importlib
import json
import math
import os
import sys
import time
import zlib
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import convnext, densenet, efficientnet, inception, mobilenetv2, mobilenetv3
from torchvision.models import regnet, resnet, shufflenetv2, squeezenet
# the module (the attribute torchvision.models.googlenet is the function of that name)
googlenet = importlib.import_module("torchvision.models.googlenet")
from torchvision.ops.misc import Conv2dNormActivation

BATCH = 2         # the test input's batch
CALIB = 8         # calibration samples
SEQ = 16          # BERT's and GPT-2's sequence length (the symbolic dim "seq")


# ---- initialization -------------------------------------------------------------------

def randomize_norms(model, make_batch, steps=4):
    """Random affine parameters for every BatchNorm and LayerNorm; BatchNorm
    running statistics averaged over `steps` train-mode passes of random
    inputs (momentum None: a plain cumulative mean), then eval()."""
    g = torch.Generator().manual_seed(1234)
    bns = []
    for m in model.modules():
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm)) and m.weight is not None:
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            bns.append((m, m.momentum))
            m.momentum = None
    if bns:
        model.train()
        with torch.no_grad():
            for _ in range(steps):
                model(*make_batch(8))
        for m, mom in bns:
            m.momentum = mom
    return model.eval()


def images(c, h, w):
    return lambda n, g=None: (torch.randn(n, c, h, w, generator=g),)


# ---- CNN families, from torchvision's blocks -----------------------------------------------

class TinyResNet(nn.Module):
    """Stem, maxpool, BasicBlocks (one strided, with a 1x1 downsample), a
    Bottleneck, global average pool, fc: resnet18/50's structure."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        down = nn.Sequential(resnet.conv1x1(16, 32, 2), nn.BatchNorm2d(32))
        down2 = nn.Sequential(resnet.conv1x1(32, 64, 1), nn.BatchNorm2d(64))
        self.layers = nn.Sequential(resnet.BasicBlock(16, 16), resnet.BasicBlock(16, 32, 2, down),
                                    resnet.Bottleneck(32, 16, 1, down2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.avgpool(self.layers(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


def build_resnet():
    return TinyResNet(), images(3, 32, 32)


def build_mobilenet_v2():
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2]]
    m = mobilenetv2.MobileNetV2(num_classes=10, width_mult=1.0, inverted_residual_setting=setting)
    return m, images(3, 32, 32)


def build_mobilenet_v3():
    c = partial(mobilenetv3.InvertedResidualConfig, width_mult=1.0)
    setting = [c(16, 3, 16, 16, True, "RE", 2, 1), c(16, 3, 48, 24, False, "RE", 2, 1),
               c(24, 5, 72, 24, True, "HS", 1, 1), c(24, 3, 96, 32, True, "HS", 2, 1)]
    return mobilenetv3.MobileNetV3(setting, last_channel=64, num_classes=10), images(3, 32, 32)


def build_efficientnet():
    c = efficientnet.MBConvConfig
    setting = [c(1, 3, 1, 16, 16, 1), c(6, 3, 2, 16, 24, 2), c(6, 5, 2, 24, 32, 1)]
    return efficientnet.EfficientNet(setting, dropout=0.2, num_classes=10), images(3, 32, 32)


class TinySqueezeNet(nn.Module):
    """squeezenet1_1's structure: strided conv, ceil-mode max pools, Fire
    modules (squeeze 1x1, expand 1x1 and 3x3, concat), a 1x1 conv classifier
    with ReLU and global average pool."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            squeezenet.Fire(32, 8, 16, 16), squeezenet.Fire(32, 8, 16, 16), nn.MaxPool2d(3, 2, ceil_mode=True),
            squeezenet.Fire(32, 16, 32, 32))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(64, classes, 1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def build_squeezenet():
    return TinySqueezeNet(), images(3, 48, 48)


def build_shufflenet():
    m = shufflenetv2.ShuffleNetV2([1, 2, 1], [16, 24, 48, 96, 128], num_classes=10)
    return m, images(3, 64, 64)


def build_densenet():
    m = densenet.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=2, num_classes=10)
    return m, images(3, 32, 32)


class TinyGoogLeNet(nn.Module):
    """GoogLeNet's structure: BasicConv2d (conv, BN eps 1e-3, ReLU), ceil-mode
    max pools, two Inception modules (four branches concatenated, one a
    3x3/1 ceil-mode max pool), global average pool, dropout, fc."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = googlenet.BasicConv2d(3, 16, kernel_size=3, stride=1, padding=1)
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.a = googlenet.Inception(16, 8, 8, 16, 4, 8, 8)
        self.b = googlenet.Inception(40, 16, 8, 16, 4, 8, 8)
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        x = self.pool2(self.b(self.a(self.pool1(self.conv1(x)))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


def build_googlenet():
    return TinyGoogLeNet(), images(3, 32, 32)


class MiniInceptionA(nn.Module):
    """Inception v3's InceptionA with small widths: 1x1; 1x1 -> 5x5;
    1x1 -> 3x3 -> 3x3; F.avg_pool2d(3, 1, 1) (exported as Pad + AveragePool)
    -> 1x1."""

    def __init__(self, cin, pool_features):
        super().__init__()
        B = inception.BasicConv2d
        self.b1 = B(cin, 8, kernel_size=1)
        self.b5 = nn.Sequential(B(cin, 6, kernel_size=1), B(6, 8, kernel_size=5, padding=2))
        self.b3 = nn.Sequential(B(cin, 8, kernel_size=1), B(8, 12, kernel_size=3, padding=1),
                                B(12, 12, kernel_size=3, padding=1))
        self.bp = B(cin, pool_features, kernel_size=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b5(x), self.b3(x), self.bp(F.avg_pool2d(x, 3, 1, 1))], 1)


class MiniInceptionB(nn.Module):
    """Inception v3's InceptionB (grid reduction) with small widths: 3x3/2;
    1x1 -> 3x3 -> 3x3/2; max_pool2d(3, 2); concatenated."""

    def __init__(self, cin):
        super().__init__()
        B = inception.BasicConv2d
        self.b3 = B(cin, 12, kernel_size=3, stride=2)
        self.bd = nn.Sequential(B(cin, 8, kernel_size=1), B(8, 8, kernel_size=3, padding=1),
                                B(8, 8, kernel_size=3, stride=2))

    def forward(self, x):
        return torch.cat([self.b3(x), self.bd(x), F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class MiniInceptionC(nn.Module):
    """Inception v3's InceptionC with small widths: the factorized 1x7 / 7x1
    convolutions."""

    def __init__(self, cin, c7):
        super().__init__()
        B = inception.BasicConv2d
        self.b1 = B(cin, 16, kernel_size=1)
        self.b7 = nn.Sequential(B(cin, c7, kernel_size=1), B(c7, c7, kernel_size=(1, 7), padding=(0, 3)),
                                B(c7, 16, kernel_size=(7, 1), padding=(3, 0)))
        self.bp = B(cin, 16, kernel_size=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b7(x), self.bp(F.avg_pool2d(x, 3, 1, 1))], 1)


class TinyInceptionV3(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        B = inception.BasicConv2d
        self.stem = nn.Sequential(B(3, 16, kernel_size=3, stride=2), B(16, 16, kernel_size=3, padding=1),
                                  nn.MaxPool2d(3, 2))
        self.a = MiniInceptionA(16, 8)
        self.reduce = MiniInceptionB(36)
        self.c = MiniInceptionC(56, 8)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        x = self.c(self.reduce(self.a(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_inception_v3():
    return TinyInceptionV3(), images(3, 48, 48)


def build_regnet():
    params = regnet.BlockParams.from_init_params(depth=3, w_0=16, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25)
    return regnet.RegNet(params, num_classes=10, stem_width=16), images(3, 32, 32)


def build_convnext():
    setting = [convnext.CNBlockConfig(16, 32, 1), convnext.CNBlockConfig(32, None, 1)]
    m = convnext.ConvNeXt(setting, stochastic_depth_prob=0.0, layer_scale=1e-6, num_classes=10)
    g = torch.Generator().manual_seed(99)
    for mod in m.modules():  # layer scale 1e-6 would make every block an identity: give it weight
        if isinstance(mod, convnext.CNBlock):
            with torch.no_grad():
                mod.layer_scale.copy_(torch.rand(mod.layer_scale.shape, generator=g) * 0.9 + 0.1)
    return m, images(3, 32, 32)


# ---- transformers, written the way HuggingFace transformers 4.38 writes them --------------

def _normal_(module, std=0.02, seed=0):
    """HF's _init_weights: normal(0, 0.02) weights, zero biases."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * std)


class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.num_attention_heads, self.attention_head_size = heads, hidden // heads
        self.all_head_size = hidden
        self.query, self.key, self.value = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden,
                                                                                                          hidden)
        self.dropout = nn.Dropout(0.1)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        scores = scores + attention_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size()[:-2] + (self.all_head_size,))


class BertLayer(nn.Module):
    """Post-LN: attention, dense, residual, LayerNorm; dense, exact GELU
    (Erf), dense, residual, LayerNorm."""

    def __init__(self, hidden, heads, inter):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attn_out, self.ln1 = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate, self.output = nn.Linear(hidden, inter), nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, h, mask):
        h = self.ln1(self.attn_out(self.attention(h, mask)) + h)
        return self.ln2(self.output(F.gelu(self.intermediate(h))) + h)


class TinyBert(nn.Module):
    """BertForSequenceClassification: word + position + token-type embedding
    Gathers (position ids and token types are buffers sliced to the
    sequence length, the token types expanded to the batch), LayerNorm,
    the int64 mask made additive, post-LN layers, the pooler (first token,
    dense, tanh), the classifier."""

    def __init__(self, vocab=100, hidden=32, layers=2, heads=4, inter=64, max_pos=32, classes=10):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_pos).expand((1, -1)), persistent=False)
        self.register_buffer("token_type_ids", torch.zeros((1, max_pos), dtype=torch.long), persistent=False)
        self.layers = nn.ModuleList([BertLayer(hidden, heads, inter) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, classes)
        _normal_(self, seed=11)

    def forward(self, input_ids, attention_mask):
        batch_size, seq_length = input_ids.size()
        position_ids = self.position_ids[:, 0:seq_length]
        token_type_ids = self.token_type_ids[:, :seq_length].expand(batch_size, seq_length)
        h = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        h = self.LayerNorm(h + self.position_embeddings(position_ids))
        ext = attention_mask[:, None, None, :].to(dtype=h.dtype)
        ext = (1.0 - ext) * torch.finfo(h.dtype).min
        for layer in self.layers:
            h = layer(h, ext)
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return self.classifier(pooled)


def token_batch(vocab, seq, with_mask):
    """Random token ids (int64); the mask (int64) pads the tail of every
    other sample (0 to seq/2 positions), never the first token."""
    def make(n, g=None):
        ids = torch.randint(1, vocab, (n, seq), generator=g, dtype=torch.long)
        if not with_mask:
            return (ids,)
        mask = torch.ones(n, seq, dtype=torch.long)
        pads = torch.randint(0, seq // 2 + 1, (n,), generator=g)
        for i in range(n):
            if i % 2 == 1 and int(pads[i]) > 0:
                mask[i, seq - int(pads[i]):] = 0
                ids[i, seq - int(pads[i]):] = 0
        return ids, mask
    return make


def build_bert():
    return TinyBert(), token_batch(100, SEQ, True)


class Conv1D(nn.Module):
    """GPT-2's Conv1D: a Linear with a [in, out] weight, as addmm."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.randn(nf) * 0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, n_embd, n_head, n_positions):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones((n_positions, n_positions), dtype=torch.bool)).view(
            1, 1, n_positions, n_positions), persistent=False)
        self.num_heads, self.head_dim, self.split_size = n_head, n_embd // n_head, n_embd
        self.c_attn, self.c_proj = Conv1D(3 * n_embd, n_embd), Conv1D(n_embd, n_embd)

    def _split_heads(self, t):
        return t.view(t.size()[:-1] + (self.num_heads, self.head_dim)).permute(0, 2, 1, 3)

    def _merge_heads(self, t):
        t = t.permute(0, 2, 1, 3).contiguous()
        return t.view(t.size()[:-2] + (self.num_heads * self.head_dim,))

    def forward(self, h):
        query, key, value = self.c_attn(h).split(self.split_size, dim=2)
        query, key, value = self._split_heads(query), self._split_heads(key), self._split_heads(value)
        w = torch.matmul(query, key.transpose(-1, -2))
        w = w / torch.full([], value.size(-1) ** 0.5, dtype=w.dtype)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length:key_length, :key_length]
        mask_value = torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype)
        w = torch.where(causal_mask, w.to(w.dtype), mask_value)
        w = F.softmax(w, dim=-1)
        return self.c_proj(self._merge_heads(torch.matmul(w, value)))


class GPT2Block(nn.Module):
    def __init__(self, n_embd, n_head, n_positions):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd, eps=1e-5), nn.LayerNorm(n_embd, eps=1e-5)
        self.attn = GPT2Attention(n_embd, n_head, n_positions)
        self.c_fc, self.c_proj = Conv1D(4 * n_embd, n_embd), Conv1D(n_embd, 4 * n_embd)

    def forward(self, h):
        h = self.attn(self.ln_1(h)) + h
        return self.c_proj(gelu_new(self.c_fc(self.ln_2(h)))) + h


class TinyGPT2(nn.Module):
    """GPT2LMHeadModel without cache: token + position (arange over the
    sequence) embeddings, pre-LN blocks, ln_f, the LM head tied to wte."""

    def __init__(self, vocab=64, n_embd=32, n_layer=2, n_head=4, n_positions=32):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([GPT2Block(n_embd, n_head, n_positions) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        _normal_(self, seed=12)
        self.lm_head.weight = self.wte.weight

    def forward(self, input_ids):
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long).unsqueeze(0)
        h = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.h:
            h = block(h)
        h = self.ln_f(h)
        h = h.view((-1,) + input_shape[1:] + (h.size(-1),))
        return self.lm_head(h)


def build_gpt2():
    return TinyGPT2(), token_batch(64, SEQ, False)


class ViTSelfAttention(BertSelfAttention):
    def forward(self, h, attention_mask=None):
        q = self.transpose_for_scores(self.query(h))
        k = self.transpose_for_scores(self.key(h))
        v = self.transpose_for_scores(self.value(h))
        probs = F.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size), dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size()[:-2] + (self.all_head_size,))


class ViTLayer(nn.Module):
    """Pre-LN: LN, attention, dense, residual; LN, dense, GELU, dense, residual."""

    def __init__(self, hidden, heads, inter):
        super().__init__()
        self.layernorm_before, self.layernorm_after = nn.LayerNorm(hidden, eps=1e-12), nn.LayerNorm(hidden,
                                                                                                     eps=1e-12)
        self.attention, self.attn_out = ViTSelfAttention(hidden, heads), nn.Linear(hidden, hidden)
        self.intermediate, self.output = nn.Linear(hidden, inter), nn.Linear(inter, hidden)

    def forward(self, h):
        h = self.attn_out(self.attention(self.layernorm_before(h))) + h
        return self.output(F.gelu(self.intermediate(self.layernorm_after(h)))) + h


class TinyViT(nn.Module):
    """ViTForImageClassification: Conv patch embedding, flatten(2).transpose,
    the class token expanded to x.shape[0] and concatenated, position
    embeddings added, pre-LN layers, LN, the classifier on token 0."""

    def __init__(self, image=32, patch=8, hidden=32, layers=2, heads=4, inter=64, classes=10):
        super().__init__()
        n = (image // patch) ** 2
        self.projection = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, hidden) * 0.02)
        self.layers = nn.ModuleList([ViTLayer(hidden, heads, inter) for _ in range(layers)])
        self.layernorm = nn.LayerNorm(hidden, eps=1e-12)
        self.classifier = nn.Linear(hidden, classes)
        _normal_(self, seed=13)

    def forward(self, pixel_values):
        batch_size = pixel_values.shape[0]
        x = self.projection(pixel_values).flatten(2).transpose(1, 2)
        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        h = torch.cat((cls_tokens, x), dim=1) + self.position_embeddings
        for layer in self.layers:
            h = layer(h)
        return self.classifier(self.layernorm(h)[:, 0, :])


def build_vit():
    return TinyViT(), images(3, 32, 32)


class WhisperAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.embed_dim, self.num_heads, self.head_dim = d, heads, d // heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj, self.q_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def _shape(self, t, seq_len, bsz):
        return t.view(bsz, seq_len, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, h):
        bsz, tgt_len, _ = h.size()
        q = self.q_proj(h) * self.scaling
        k = self._shape(self.k_proj(h), -1, bsz)
        v = self._shape(self.v_proj(h), -1, bsz)
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        q = self._shape(q, tgt_len, bsz).view(*proj_shape)
        k, v = k.reshape(*proj_shape), v.reshape(*proj_shape)
        w = F.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)
        o = torch.bmm(w, v).view(bsz, self.num_heads, tgt_len, self.head_dim).transpose(1, 2)
        return self.out_proj(o.reshape(bsz, tgt_len, self.embed_dim))


class WhisperEncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.self_attn, self.self_attn_layer_norm = WhisperAttention(d, heads), nn.LayerNorm(d)
        self.fc1, self.fc2, self.final_layer_norm = nn.Linear(d, ffn), nn.Linear(ffn, d), nn.LayerNorm(d)

    def forward(self, h):
        h = self.self_attn(self.self_attn_layer_norm(h)) + h
        return self.fc2(F.gelu(self.fc1(self.final_layer_norm(h)))) + h


class TinyWhisperEncoder(nn.Module):
    """WhisperEncoder: Conv1d k3 + GELU, Conv1d k3 stride 2 + GELU, permute,
    the sinusoid-shaped position table added whole, pre-LN layers (q scaled,
    k without bias, bmm over batch*heads), the final LayerNorm."""

    def __init__(self, mels=16, frames=32, d=32, layers=2, heads=4, ffn=64):
        super().__init__()
        self.conv1 = nn.Conv1d(mels, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(frames // 2, d)
        self.layers = nn.ModuleList([WhisperEncoderLayer(d, heads, ffn) for _ in range(layers)])
        self.layer_norm = nn.LayerNorm(d)
        _normal_(self, seed=14)

    def forward(self, input_features):
        x = F.gelu(self.conv1(input_features))
        x = F.gelu(self.conv2(x)).permute(0, 2, 1)
        h = x + self.embed_positions.weight
        for layer in self.layers:
            h = layer(h)
        return self.layer_norm(h)


def build_whisper():
    return TinyWhisperEncoder(), lambda n, g=None: (torch.randn(n, 16, 32, generator=g),)


# ---- the list ------------------------------------------------------------------------------------
# name -> (builder, input names, output names, symbolic dims {input name: {axis: dim name}},
#          {dim name: value}); dim 0 of every input and output is "N".
IMG = (["input"], ["logits"], {}, {})
FAMILIES = {
    "resnet": (build_resnet,) + IMG,
    "mobilenet_v2": (build_mobilenet_v2,) + IMG,
    "mobilenet_v3": (build_mobilenet_v3,) + IMG,
    "efficientnet": (build_efficientnet,) + IMG,
    "squeezenet": (build_squeezenet,) + IMG,
    "shufflenet": (build_shufflenet,) + IMG,
    "densenet": (build_densenet,) + IMG,
    "googlenet": (build_googlenet,) + IMG,
    "inception_v3": (build_inception_v3,) + IMG,
    "regnet": (build_regnet,) + IMG,
    "convnext": (build_convnext,) + IMG,
    "bert": (build_bert, ["input_ids", "attention_mask"], ["logits"],
             {"input_ids": {1: "seq"}, "attention_mask": {1: "seq"}}, {"seq": SEQ}),
    "gpt2": (build_gpt2, ["input_ids"], ["logits"], {"input_ids": {1: "seq"}, "logits": {1: "seq"}}, {"seq": SEQ}),
    "vit": (build_vit,) + IMG,
    "whisper_encoder": (build_whisper, ["input_features"], ["last_hidden_state"], {}, {}),
}


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7fffffff


def export(name, opsets, out):
    builder, in_names, out_names, sym, dims = FAMILIES[name]
    torch.manual_seed(seed_of(name))
    model, make = builder()
    randomize_norms(model, lambda n: make(n, torch.Generator().manual_seed(seed_of(name) + n)))
    model.eval()
    x = make(BATCH, torch.Generator().manual_seed(seed_of(name) + 1))
    calib = make(CALIB, torch.Generator().manual_seed(seed_of(name) + 2))
    with torch.no_grad():
        ref = model(*x)
    refs = ref if isinstance(ref, tuple) else (ref,)
    dyn = {}
    for n in in_names + out_names:
        dyn[n] = {0: "N"}
        dyn[n].update(sym.get(n, {}))
    files = {}
    for k in opsets:
        f = "%s_op%d.onnx" % (name, k)
        with torch.no_grad():
            torch.onnx.export(model, x, os.path.join(out, f), input_names=in_names, output_names=out_names,
                              dynamic_axes=dyn, opset_version=k, do_constant_folding=True)
        files[str(k)] = f
    inputs = []
    for n, t, c in zip(in_names, x, calib):
        a, ca = t.numpy(), c.numpy()
        np.save(os.path.join(out, "%s.%s.npy" % (name, n)), a)
        np.save(os.path.join(out, "%s.%s.calib.npy" % (name, n)), ca)
        inputs.append({"name": n, "file": "%s.%s.npy" % (name, n), "calib": "%s.%s.calib.npy" % (name, n),
                       "dtype": str(a.dtype), "shape": list(a.shape)})
    outputs = []
    for n, t in zip(out_names, refs):
        a = t.numpy()
        np.save(os.path.join(out, "%s.%s.ref.npy" % (name, n)), a)
        outputs.append({"name": n, "ref": "%s.%s.ref.npy" % (name, n), "shape": list(a.shape)})
    params = sum(p.numel() for p in model.parameters())
    return {"name": name, "onnx": files, "inputs": inputs, "outputs": outputs, "dims": dims, "params": params}


def cache_key(opsets):
    with open(os.path.abspath(__file__), "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()[:16]
    return "%s torch %s torchvision %s opsets %s" % (h, torch.__version__, torchvision.__version__,
                                                     ",".join(map(str, opsets)))


def build(out, names=None, opsets=(13, 17), log=print):
    """Export the families `names` (all by default) into `out` unless the
    manifest there is current; returns the manifest."""
    os.makedirs(out, exist_ok=True)
    names = list(names or FAMILIES)
    key = cache_key(opsets)
    mpath = os.path.join(out, "manifest.json")
    manifest = {"key": key, "models": {}}
    if os.path.exists(mpath):
        with open(mpath) as f:
            old = json.load(f)
        if old.get("key") == key:
            manifest = old
    for n in names:
        m = manifest["models"].get(n)
        if n in manifest.get("errors", {}):
            m = None  # try again
        if m and all(os.path.exists(os.path.join(out, p)) for p in
                     list(m["onnx"].values()) + [i["file"] for i in m["inputs"]] + [o["ref"] for o in m["outputs"]]):
            continue
        t0 = time.time()
        try:
            manifest["models"][n] = export(n, opsets, out)
        except Exception:  # one family failing to export is that family's failure, not every one's
            import traceback
            tb = traceback.format_exc().strip().splitlines()
            manifest["models"].pop(n, None)
            manifest.setdefault("errors", {})[n] = tb[-1][:500] if tb else "unknown error"
            log("FAILED to export %s: %s" % (n, manifest["errors"][n]))
        else:
            manifest.get("errors", {}).pop(n, None)
            log("exported %-16s opsets %s in %.1f s" % (n, ",".join(map(str, opsets)), time.time() - t0))
        with open(mpath + ".tmp", "w") as f:
            json.dump(manifest, f, indent=1)
        os.replace(mpath + ".tmp", mpath)
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--models", help="comma-separated family names (default: all)")
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--list", action="store_true", help="print the family names and exit")
    a = ap.parse_args()
    if a.list:
        print("\n".join(FAMILIES))
        return
    if not a.out:
        ap.error("OUT_DIR is required")
    names = a.models.split(",") if a.models else None
    bad = [n for n in names or [] if n not in FAMILIES]
    if bad:
        ap.error("unknown model(s) %s; known: %s" % (", ".join(bad), ", ".join(FAMILIES)))
    torch.set_num_threads(1)
    import warnings
    warnings.filterwarnings("ignore")
    build(a.out, names, tuple(int(k) for k in a.opsets.split(",")))


if __name__ == "__main__":
    main()
