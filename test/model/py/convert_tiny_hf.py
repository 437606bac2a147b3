# Tiny random Hugging Face models converted to GGUF by llama.cpp's own convert_hf_to_gguf.py, as references for
# test/model/gguf_import.test.ts:
#   python convert_tiny_hf.py LLAMA_CPP_DIR OUT
# For each of llama (GQA, Q/K/V biases, Llama 3 RoPE scaling with non-standard band), qwen2 (tied), qwen3 (head_dim
# != hidden/heads), exaone4 (sliding-window pattern, standard Llama 3 scaling) and exaone4_64 (the same at 64 layers): OUT/ARCH/ (save_pretrained,
# float32, with a tiny byte-level BPE tokenizer), OUT/ARCH-f32.gguf, OUT/ARCH.expect.json (the config values as
# transformers resolves them). For llama also OUT/llama-q8_0.gguf with OUT/llama-q8_0.ref.safetensors (every
# tensor by GGUF name, dequantised by gguf-py), and OUT/split/llama-0000K-of-0000N.gguf (--split-max-tensors).
# The tokenizer's pre-tokenizer hash is unknown to the converter, so get_vocab_base_pre is patched to "gpt-2".
import json, os, sys
import numpy as np
import torch, transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

llama_cpp, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, llama_cpp)
sys.path.insert(1, os.path.join(llama_cpp, 'gguf-py'))
import convert_hf_to_gguf
import gguf
from conversion.base import TextModel
from safetensors.numpy import save_file

TextModel.get_vocab_base_pre = lambda self, tokenizer: 'gpt-2'


def tokenizer(path, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    text = ['the quick brown fox jumps over the lazy dog', '안녕하세요 반갑습니다', 'def f(x): return x'] * 20
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=vocab - 2, special_tokens=['<|endoftext|>', '<|pad|>'], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<|endoftext|>', eos_token='<|endoftext|>', pad_token='<|pad|>').save_pretrained(path)


def convert(src, dst, outtype, *extra):
    sys.argv = ['convert_hf_to_gguf.py', src, '--outfile', dst, '--outtype', outtype, *extra]
    convert_hf_to_gguf.main()


common = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              vocab_size=320, max_position_embeddings=256, bos_token_id=0, eos_token_id=0, pad_token_id=1)
configs = {
    'llama': transformers.LlamaConfig(**{**common, 'hidden_size': 128, 'max_position_embeddings': 16384}, attention_bias=True, tie_word_embeddings=False, rms_norm_eps=1e-5,
                                      rope_parameters={'rope_type': 'llama3', 'rope_theta': 10000.0, 'factor': 8.0, 'low_freq_factor': 1.0,
                                                       'high_freq_factor': 8.0, 'original_max_position_embeddings': 2048}),
    'qwen2': transformers.Qwen2Config(**common, tie_word_embeddings=True, rms_norm_eps=1e-6, rope_parameters={'rope_type': 'default', 'rope_theta': 1000000.0}),
    'qwen3': transformers.Qwen3Config(**common, head_dim=32, tie_word_embeddings=False, rms_norm_eps=1e-6, rope_parameters={'rope_type': 'default', 'rope_theta': 1000000.0}),
    'exaone4': transformers.Exaone4Config(**{**common, 'num_hidden_layers': 4, 'max_position_embeddings': 32768}, tie_word_embeddings=False, sliding_window=16, sliding_window_pattern=4,
                                          rope_parameters={'rope_type': 'llama3', 'rope_theta': 10000.0, 'factor': 16.0, 'low_freq_factor': 1.0,
                                                           'high_freq_factor': 4.0, 'original_max_position_embeddings': 8192}),
}
# llama.cpp turns EXAONE 4's hybrid attention (sliding-window layers with RoPE, global layers without) on only for
# 64-layer models (the 32B; src/models/exaone4.cpp) and runs every other depth as full attention with RoPE on
# every layer, so the llama.cpp logit check needs the 32B's depth to compare the same computation.
configs['exaone4_64'] = transformers.Exaone4Config(**{**common, 'num_hidden_layers': 64, 'max_position_embeddings': 32768},
                                                   tie_word_embeddings=False, sliding_window=16, sliding_window_pattern=4,
                                                   rope_parameters={'rope_type': 'llama3', 'rope_theta': 10000.0, 'factor': 16.0, 'low_freq_factor': 1.0,
                                                                    'high_freq_factor': 4.0, 'original_max_position_embeddings': 8192})
classes = {'llama': transformers.LlamaForCausalLM, 'qwen2': transformers.Qwen2ForCausalLM, 'qwen3': transformers.Qwen3ForCausalLM, 'exaone4': transformers.Exaone4ForCausalLM,
           'exaone4_64': transformers.Exaone4ForCausalLM}

torch.manual_seed(0)
for arch, cfg in configs.items():
    model = classes[arch](cfg).float()
    with torch.no_grad():  # norms are initialised to 1: make them informative
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(torch.randn_like(p) * 0.3 + 1)
    d = os.path.join(out, arch)
    model.save_pretrained(d)
    tokenizer(d, cfg.vocab_size)
    convert(d, os.path.join(out, f'{arch}-f32.gguf'), 'f32')
    rp = cfg.rope_parameters
    expect = {
        'hidden_size': cfg.hidden_size, 'intermediate_size': cfg.intermediate_size, 'num_attention_heads': cfg.num_attention_heads,
        'num_key_value_heads': cfg.num_key_value_heads, 'num_hidden_layers': cfg.num_hidden_layers,
        'head_dim': getattr(cfg, 'head_dim', None) or cfg.hidden_size // cfg.num_attention_heads, 'rms_norm_eps': cfg.rms_norm_eps,
        'rope_theta': rp['rope_theta'], 'max_position_embeddings': cfg.max_position_embeddings, 'vocab_size': cfg.vocab_size,
        'tie_word_embeddings': cfg.tie_word_embeddings,
        'rope_scaling': None if rp['rope_type'] == 'default' else {k: rp[k] for k in ['rope_type', 'factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']},
        'layer_types': getattr(cfg, 'layer_types', None), 'sliding_window': getattr(cfg, 'sliding_window', None),
    }
    json.dump(expect, open(os.path.join(out, f'{arch}.expect.json'), 'w'))

convert(os.path.join(out, 'llama'), os.path.join(out, 'llama-q8_0.gguf'), 'q8_0')
reader = gguf.GGUFReader(os.path.join(out, 'llama-q8_0.gguf'))
ref = {t.name: np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32) for t in reader.tensors}
types = {t.name: t.tensor_type.name for t in reader.tensors}
save_file(ref, os.path.join(out, 'llama-q8_0.ref.safetensors'), metadata={'types': json.dumps(types)})
os.makedirs(os.path.join(out, 'split'))
convert(os.path.join(out, 'llama'), os.path.join(out, 'split', 'llama.gguf'), 'f32', '--split-max-tensors', '7')
