# lm-eval's local-completions on a task folder, through simple_evaluate (the CLI's table printer needs
# pytablewriter, which the wheelhouse lacks). Writes each sample's doc_id and per-choice log-likelihoods.
#   python lm_eval_local.py MODEL_ARGS TASK INCLUDE_DIR OUT.json
import json
import sys

from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager

model_args, task, include, out = sys.argv[1:5]
r = simple_evaluate(model='local-completions', model_args=model_args, tasks=[task], task_manager=TaskManager(include_path=include),
                    log_samples=True, random_seed=0, numpy_random_seed=0, torch_random_seed=0, fewshot_random_seed=0)
samples = [{'doc_id': s['doc_id'], 'loglikelihoods': [float(x[0][0]) for x in s['resps']]} for s in r['samples'][task]]
with open(out, 'w') as f:
    json.dump({'samples': samples, 'results': r['results'][task]}, f)
