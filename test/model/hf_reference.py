# Reference side of test/model/hf_parity.test.ts: for each case (a tiny random model of one Hugging Face
# architecture), build it with transformers, randomise every parameter, save it with save_pretrained
# (safetensors + config.json) into the case's directory, and write what hcx must reproduce: the fp32 logits
# of a prompt at every position, the gradient of the mean next-token cross-entropy for every parameter, and a
# greedy generation of `new` tokens (KV cache, no early stop).
# A case {"load": dir, "ids"} instead loads a saved model (hcx's export) with AutoModelForCausalLM and gives its logits.
# stdin: {"cases": [{"dir", "config", "ids", "new", "seed"} or {"load", "ids"}]}; stdout: one JSON line per case.
import base64, json, sys
import torch
import transformers

torch.set_num_threads(1)


def b64(t):
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().tobytes()).decode()


def run(case):
    torch.manual_seed(case["seed"])
    conf = dict(case["config"])
    cfg = transformers.AutoConfig.for_model(conf.pop("model_type"), **conf)
    cls = getattr(transformers, case["config"]["architectures"][0])
    model = cls(cfg).to(torch.float32).eval()
    with torch.no_grad():
        # Weights large enough that logits spread well beyond fp32 noise, so greedy choices are not near-ties.
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.copy_(1 + 0.2 * torch.randn_like(p) if name.endswith("norm.weight") or "layernorm" in name or "post_norm" in name else 0.3 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.5 / p.shape[1] ** 0.5))
    model.save_pretrained(case["dir"], safe_serialization=True)
    ids = torch.tensor([case["ids"]])
    out = model(ids, labels=ids)
    out.loss.backward()
    grads = {n: b64(p.grad) for n, p in model.named_parameters() if p.grad is not None}
    with torch.no_grad():
        gen = model.generate(ids, max_new_tokens=case["new"], min_new_tokens=case["new"], do_sample=False, eos_token_id=None, pad_token_id=0)
    return {"logits": b64(out.logits[0]), "loss": out.loss.item(), "grads": grads, "generated": gen[0, ids.shape[1]:].tolist()}


def load(case):
    model = transformers.AutoModelForCausalLM.from_pretrained(case["load"], dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([case["ids"]])).logits[0]
    return {"architecture": type(model).__name__, "logits": b64(logits)}


for case in json.load(sys.stdin)["cases"]:
    print(json.dumps(load(case) if "load" in case else run(case)), flush=True)
