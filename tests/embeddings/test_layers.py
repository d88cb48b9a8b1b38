"""Vectors from more than the last layer: ``layers`` and ``layer_pooling`` equal transformers' hidden states,
sparktag's BERT stops after the deepest layer asked for, and wrong layers are refused in the user's terms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sparktag.embeddings.bert import PlainBert
from sparktag.embeddings.layers import resolve_layers
from sparktag.embeddings.transformer import EncoderConfig, TransformerEncoder

SENTENCES = [
    ["John", "lives", "in", "New", "York", "."],
    ["unaffable"],
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Peter", "zzz", "unaffable", "cats"],
]


@pytest.fixture(scope="module")
def encoders(tiny_bert_dir: Path) -> dict[str, TransformerEncoder]:
    """The 2-layer tiny BERT through transformers (from its folder) and through PlainBert (from its files)."""
    hf = TransformerEncoder.from_folder(tiny_bert_dir)
    return {"transformers": hf, "plain": TransformerEncoder.from_bert_files(hf.to_files())}


def direct_hidden_states(folder: Path, words: list[str]) -> tuple[tuple[torch.Tensor, ...], list]:
    """One sentence through transformers with ``output_hidden_states``: every state ``(n_pieces + 2, D)``."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    batch = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch, output_hidden_states=True).hidden_states
    return tuple(s[0] for s in states), batch.word_ids(0)


def manual_vectors(folder: Path, words: list[str], layers: list[int], layer_pooling: str) -> np.ndarray:
    """The chosen states averaged or concatenated by hand, then each word's wordpieces averaged."""
    states, word_ids = direct_hidden_states(folder, words)
    chosen = [states[i].numpy() for i in layers]
    pieces = np.concatenate(chosen, axis=1) if layer_pooling == "concat" else np.mean(chosen, axis=0)
    return np.stack(
        [pieces[[k for k, w in enumerate(word_ids) if w == word]].mean(0) for word in range(len(words))]
    )


@pytest.mark.parametrize("path", ["transformers", "plain"])
def test_default_is_the_last_layer_to_the_bit(encoders, tiny_bert_dir: Path, path: str):
    """layers=(-1,) with mean pooling is what the encoder always gave: the last hidden state, unchanged."""
    encoder = encoders[path]
    assert EncoderConfig().layers == (-1,) and EncoderConfig().layer_pooling == "mean"
    assert encoder.output_dimension(EncoderConfig()) == encoder.dimension == 32
    for words in SENTENCES:  # one sentence per call: no padding, as in the direct forward pass
        (got,) = encoder.embed([words], EncoderConfig(case_sensitive=True))
        states, word_ids = direct_hidden_states(tiny_bert_dir, words)
        first = [word_ids.index(word) for word in range(len(words))]
        np.testing.assert_array_equal(got, states[-1].numpy()[first])


@pytest.mark.parametrize("path", ["transformers", "plain"])
@pytest.mark.parametrize("layer_pooling", ["mean", "concat"])
def test_mean_and_concat_equal_a_manual_mix_of_hidden_states(
    encoders, tiny_bert_dir: Path, path: str, layer_pooling: str
):
    config = EncoderConfig(case_sensitive=True, pooling="mean", layers=(-1, 0), layer_pooling=layer_pooling)
    vectors = encoders[path].embed(SENTENCES, config)
    dim = 64 if layer_pooling == "concat" else 32
    assert encoders[path].output_dimension(config) == dim
    assert [v.shape for v in vectors] == [(len(s), dim) for s in SENTENCES]
    for words, got in zip(SENTENCES, vectors, strict=True):
        assert got.dtype == np.float32
        expected = manual_vectors(tiny_bert_dir, words, [2, 0], layer_pooling)
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_concat_of_windows_is_the_concat_of_each_layer(encoders):
    """Windowing, stitching and pooling work on the combined vectors: long windowed sentences in padded
    batches give, layer by layer, exactly the numbers of one layer at a time."""
    encoder = encoders["plain"]
    words = [w for s in SENTENCES for w in s] * 4  # about 90 wordpieces: several windows of 16
    base = {"max_sentence_length": 18, "batch_size": 2, "pooling": "mean"}
    both = encoder.embed(
        [words, ["the", "cat"], []], EncoderConfig(**base, layers=(-2, -1), layer_pooling="concat")
    )
    for k, layer in enumerate((-2, -1)):
        alone = encoder.embed([words, ["the", "cat"], []], EncoderConfig(**base, layers=(layer,)))
        for a, b in zip(both, alone, strict=True):
            np.testing.assert_array_equal(a[:, 32 * k : 32 * (k + 1)], b)
    assert both[2].shape == (0, 64)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_plain_bert_stops_after_the_deepest_layer_asked_for(tiny_bert_dir: Path, precision: str):
    config = json.loads((tiny_bert_dir / "config.json").read_text())
    plain = PlainBert.from_files(config, (tiny_bert_dir / "model.safetensors").read_bytes())
    calls = []
    activation = plain.activation
    plain.activation = lambda x: calls.append(1) or activation(x)  # one call per layer run
    torch.manual_seed(0)
    ids = torch.randint(5, config["vocab_size"], (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    with torch.inference_mode():
        everything = plain.hidden_states(ids, mask, precision, (0, 1, 2))
        assert len(calls) == 2
        calls.clear()
        (first,) = plain.hidden_states(ids, mask, precision, (-2,))
        assert len(calls) == 1  # the second layer never ran
        calls.clear()
        assert plain.hidden_states(ids, mask, precision, (0,))[0].equal(everything[0]) and not calls
        assert first.equal(everything[1])
        assert plain(ids, mask, precision).equal(everything[2])
        if precision == "float32":
            from transformers import AutoModel

            reference = AutoModel.from_pretrained(str(tiny_bert_dir), local_files_only=True).eval()
            states = reference(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            for ours, theirs in zip(everything, states, strict=True):
                assert ours.equal(theirs)


def test_wrong_layers_are_refused_with_what_to_do(encoders):
    with pytest.raises(ValueError, match=r"layers must be a non-empty list of layer indices"):
        EncoderConfig(layers=())
    with pytest.raises(ValueError, match=r"layers=\[-1, -1\] names a layer twice"):
        EncoderConfig(layers=(-1, -1))
    with pytest.raises(ValueError, match="must hold integers"):
        EncoderConfig(layers=(-1.5,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layer_pooling must be one of"):
        EncoderConfig(layer_pooling="sum")
    assert EncoderConfig(layers=[-1, -2]).layers == (-1, -2)  # type: ignore[arg-type]
    for encoder in encoders.values():
        with pytest.raises(ValueError) as err:
            encoder.embed([["the"]], EncoderConfig(layers=(-1, -4)))
        message = str(err.value)
        assert "layers=[-1, -4]: index -4 is out of range" in message
        assert "2 layers and so 3 hidden states: use indices from -3 to 2" in message
        assert "0 or -3 the embedding output" in message and "e.g. [-1, -2] for the last 2" in message
        with pytest.raises(
            ValueError, match=r"names the same layer twice \(a negative and a positive index\)"
        ):
            encoder.embed([["the"]], EncoderConfig(layers=(-1, 2)))
    assert resolve_layers([-1, -2, -3, -4], 6) == (6, 5, 4, 3)
