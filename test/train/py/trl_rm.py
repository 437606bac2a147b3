# TRL's Bradley-Terry loss, accuracy and margin on fixed scores, for test/train/reward.test.ts: runs
# trl 1.13's own RewardTrainer.compute_loss (unbound, with a stand-in model whose logits are the given
# scores and an identity accelerator), so the arithmetic is TRL's code, not a copy.
# Usage: python trl_rm.py IN.json OUT.json   IN: {"chosen": [...], "rejected": [...], "margin": [...] | null}
import json
import sys
from types import SimpleNamespace

import torch
from trl import RewardTrainer

d = json.load(open(sys.argv[1]))
logits = torch.tensor(d["chosen"] + d["rejected"], dtype=torch.float32).unsqueeze(-1).requires_grad_(True)


class Model(torch.nn.Module):
    def forward(self, **_):
        return SimpleNamespace(logits=logits)


# TRL appends to self._metrics[mode][name]: a dict that makes its lists on first use.
class _Metrics(dict):
    def __missing__(self, k):
        self[k] = [] if k not in ("train", "eval") else _Metrics()
        return self[k]


accel = SimpleNamespace(gather=lambda x: x, gather_for_metrics=lambda x: x)
fake = SimpleNamespace(model=SimpleNamespace(training=False), args=SimpleNamespace(center_rewards_coefficient=None),
                       accelerator=accel, _metrics=_Metrics(), _total_train_tokens=0, _tp_size=1)

inputs = {"input_ids": torch.zeros(logits.shape[0], 1, dtype=torch.long), "attention_mask": torch.ones(logits.shape[0], 1, dtype=torch.long)}
if d.get("margin") is not None:
    inputs["margin"] = torch.tensor(d["margin"], dtype=torch.float32)
loss = RewardTrainer.compute_loss(fake, Model(), inputs)
loss.backward()
m = fake._metrics["eval"]
json.dump({"loss": loss.item(), "accuracy": m["accuracy"][-1], "margin": m["margin"][-1], "grad": logits.grad.squeeze(-1).tolist()}, open(sys.argv[2], "w"))
