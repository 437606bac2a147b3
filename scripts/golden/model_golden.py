#!/usr/bin/env python3
"""Reference values for hcx's golden model test (in the spirit of llm.c's test_gpt2), from PyTorch.

Reads the weights hcx wrote (safetensors, F32) and its config, builds the same llama-style model in
PyTorch (RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU), and writes logits, loss, every
parameter gradient and the losses of the first 10 AdamW steps as JSON. Run by
scripts/golden/make-model-golden.mjs; needs Debian's python3-torch.
"""
import base64, json, math, struct, sys
import torch
import torch.nn.functional as F

weights_path, config_path, inputs_path, out_path = sys.argv[1:5]
torch.manual_seed(0)

def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        buf = data[8 + n + a: 8 + n + b]
        t = torch.frombuffer(bytearray(buf), dtype=torch.float32).reshape(e['shape'])
        out[name] = t.clone()
    return out

cfg = json.load(open(config_path))
inp = json.load(open(inputs_path))
W = {k: v.double().requires_grad_(True) for k, v in read_safetensors(weights_path).items()}
B, T = inp['batch'], inp['time']
ids = torch.tensor(inp['ids']).reshape(B, T)
tgt = torch.tensor(inp['targets']).reshape(B, T)
d, H, KV = cfg['dModel'], cfg['nHeads'], cfg['nKvHeads']
hd = d // H

def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg['normEps']) * w

def rope(x):  # x [B, T, h, hd], rotate-half pairs (i, i + hd/2)
    half = hd // 2
    inv = cfg['ropeBase'] ** (-torch.arange(0, half, dtype=torch.float64) * 2 / hd)
    ang = (torch.arange(T, dtype=torch.float64) * cfg['ropeScale'])[:, None] * inv[None, :]
    c, s = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)

def forward(W):
    x = W['model.embed_tokens.weight'][ids]
    mask = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)
    for i in range(cfg['nLayers']):
        p = f'model.layers.{i}.'
        xn = rms(x, W[p + 'input_layernorm.weight'])
        q = rope((xn @ W[p + 'self_attn.q_proj.weight'].T).reshape(B, T, H, hd))
        k = rope((xn @ W[p + 'self_attn.k_proj.weight'].T).reshape(B, T, KV, hd))
        v = (xn @ W[p + 'self_attn.v_proj.weight'].T).reshape(B, T, KV, hd)
        k = k.repeat_interleave(H // KV, dim=2)
        v = v.repeat_interleave(H // KV, dim=2)
        s = torch.einsum('bthd,bshd->bhts', q, k) / math.sqrt(hd) + mask
        a = torch.einsum('bhts,bshd->bthd', s.softmax(-1), v).reshape(B, T, d)
        x = x + a @ W[p + 'self_attn.o_proj.weight'].T
        hn = rms(x, W[p + 'post_attention_layernorm.weight'])
        g = F.silu(hn @ W[p + 'mlp.gate_proj.weight'].T) * (hn @ W[p + 'mlp.up_proj.weight'].T)
        x = x + g @ W[p + 'mlp.down_proj.weight'].T
    x = rms(x, W['model.norm.weight'])
    out = W['model.embed_tokens.weight'] if cfg['tieEmbeddings'] else W['lm_head.weight']
    return x @ out.T

def b64(t):
    return base64.b64encode(t.detach().float().contiguous().numpy().tobytes()).decode()

logits = forward(W)
loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
loss.backward()
golden = {'logits': b64(logits), 'loss': loss.item(), 'grads': {k: b64(v.grad) for k, v in W.items()}}

# First 10 AdamW steps from the same weights (decay on matrices only, as hcx's default).
W2 = {k: v.detach().clone().requires_grad_(True) for k, v in W.items()}
opt = torch.optim.AdamW([{'params': [v for v in W2.values() if v.dim() >= 2], 'weight_decay': 0.1},
                         {'params': [v for v in W2.values() if v.dim() < 2], 'weight_decay': 0.0}],
                        lr=inp['lr'], betas=(0.9, 0.95), eps=1e-8)
losses = []
for _ in range(10):
    opt.zero_grad()
    l = F.cross_entropy(forward(W2).reshape(-1, cfg['vocabSize']), tgt.reshape(-1))
    l.backward()
    opt.step()
    losses.append(l.item())
golden['adamw_losses'] = losses
golden['torch'] = torch.__version__
json.dump(golden, open(out_path, 'w'))
