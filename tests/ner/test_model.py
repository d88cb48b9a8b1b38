"""The network and its input pipeline: vocabularies, length batching, padding, emissions and decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparktag.core.casing import CASINGS
from sparktag.ner.data import (
    CharVocab,
    ExampleSource,
    NerExample,
    build_char_vocab,
    build_tag_list,
    collate,
    encode_example,
    holdout_positions,
    length_batches,
)
from sparktag.ner.model import NerConfig, NerTagger

DIM = 6


def example(tokens: list[str], tags: list[str] | None = None, seed: int = 0) -> NerExample:
    rng = np.random.default_rng(seed)
    return NerExample(tokens, rng.standard_normal((len(tokens), DIM)).astype(np.float32), tags)


SENTENCES = [
    example(["Peter", "lives", "in", "Berlin", "."], ["B-PER", "O", "O", "B-LOC", "O"], 1),
    example(["Hi"], ["O"], 2),
    example(["Ana", "Maria", "Lopez", "works", "at", "ACME", "Incorporated"], None, 3),
]


def tiny_model(**overrides: int) -> tuple[NerTagger, CharVocab]:
    chars = build_char_vocab(e.tokens for e in SENTENCES)
    torch.manual_seed(0)
    shape: dict[str, int] = {"char_cnn_filters": 4, "lstm_hidden": 8, **overrides}
    config = NerConfig(DIM, chars.size, 5, **shape)  # type: ignore[arg-type]
    return NerTagger(config).eval(), chars


def encode_all(chars: CharVocab, max_word_len: int = 24):
    return [encode_example(e, chars.ids(), None, max_word_len, i) for i, e in enumerate(SENTENCES)]


def test_tag_list_puts_o_first_and_sorts_the_rest() -> None:
    assert build_tag_list(["I-PER", "B-PER", "O", "B-LOC", "B-PER"]) == ["O", "B-LOC", "B-PER", "I-PER"]
    assert build_tag_list(["B-X"]) == ["O", "B-X"]


def test_char_vocab_reserves_padding_and_unknown() -> None:
    vocab = build_char_vocab([["ba", "c"]])
    assert vocab.chars == ("a", "b", "c") and vocab.size == 5
    encoded = encode_example(
        NerExample(["abz", "toolong"], np.zeros((2, 3), np.float32)), vocab.ids(), None, 4, 0
    )
    assert encoded.char_ids.tolist() == [[2, 3, 1, 0], [1, 1, 1, 1]]  # z and t, o, l unknown; truncated to 4


def test_encode_rejects_bad_shapes_and_tags() -> None:
    ids = {"O": 0}
    with pytest.raises(
        ValueError, match=r"example 7: embeddings must have shape \(n_tokens, dim\) = \(2, dim\)"
    ):
        encode_example(NerExample(["a", "b"], np.zeros((3, 4), np.float32), ["O", "O"]), {}, ids, 10, 7)
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        encode_example(NerExample(["a", "b"], np.zeros((2, 4), np.float32), ["O"]), {}, ids, 10, 0)
    with pytest.raises(KeyError, match="'B-X' is not in the tag vocabulary"):
        encode_example(NerExample(["a"], np.zeros((1, 4), np.float32), ["B-X"]), {}, ids, 10, 0)


def test_length_batches_cover_everything_and_group_lengths() -> None:
    rng_lengths = np.random.default_rng(0).integers(1, 40, 500).tolist()
    batches = length_batches(rng_lengths, 8, np.random.default_rng(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert len(batches) == 63  # ceil(500 / 8)
    assert batches == length_batches(rng_lengths, 8, np.random.default_rng(1))  # seeded
    assert batches != length_batches(rng_lengths, 8, np.random.default_rng(2))
    padded = sum(max(rng_lengths[i] for i in b) * len(b) for b in batches)
    assert padded < 1.15 * sum(rng_lengths)  # about equal lengths in a batch (random batches: ~2x)
    ordered = length_batches(rng_lengths, 8)  # prediction: sorted, deterministic
    flat = [rng_lengths[i] for b in ordered for i in b]
    assert flat == sorted(rng_lengths)


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
def test_length_batches_give_contiguous_ranges_equal_shares(workers: int) -> None:
    # data split into `workers` contiguous ranges (as data-parallel training splits it): with `workers`
    # dividing the batch size, every full batch has batch_size / workers sentences in each range
    n = 203
    lengths = np.random.default_rng(0).integers(1, 40, n).tolist()
    bounds = np.array([r * n // workers for r in range(workers + 1)])
    batches = length_batches(lengths, 8, np.random.default_rng(3))
    full = [b for b in batches if len(b) == 8]
    assert len(full) == n // 8
    for members in full:
        shares = np.bincount(np.searchsorted(bounds, members, side="right") - 1, minlength=workers)
        assert shares.tolist() == [8 // workers] * workers


def test_holdout_positions_are_seeded() -> None:
    held = holdout_positions(100, 0.2, np.random.default_rng(5))
    assert len(held) == 20 and len(set(held.tolist())) == 20
    assert held.tolist() == holdout_positions(100, 0.2, np.random.default_rng(5)).tolist()
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\)"):
        holdout_positions(10, 1.0, np.random.default_rng(0))


def test_example_source_memory_and_stream() -> None:
    assert [len(c) for c in ExampleSource(SENTENCES).chunks()] == [3]
    source = ExampleSource(lambda: iter([SENTENCES[:1], SENTENCES[1:]]))
    assert source.streaming
    assert [len(c) for c in source.chunks()] == [1, 2]
    assert [len(c) for c in source.chunks()] == [1, 2]  # a new pass every call


def test_collate_pads_and_masks() -> None:
    _, chars = tiny_model()
    batch = collate(encode_all(chars))
    assert batch.embeddings.shape == (3, 7, DIM)
    assert batch.char_ids.shape == (3, 7, 12)  # "Incorporated"
    assert batch.mask.sum(1).tolist() == [5, 1, 7] == batch.lengths.tolist()
    assert batch.tag_ids is None and batch.positions == [0, 1, 2]
    assert float(batch.embeddings[1, 1:].abs().sum()) == 0.0
    assert batch.casing_ids.shape == (3, 7) and batch.casing_ids.dtype == torch.long
    assert [CASINGS[i] for i in batch.casing_ids[0].tolist()] == [
        "initial_upper", "all_lower", "all_lower", "initial_upper", "other", "padding", "padding"
    ]  # fmt: skip
    assert batch.casing_ids[1].tolist() == [5, 0, 0, 0, 0, 0, 0]  # "Hi", then padding
    assert CASINGS[int(batch.casing_ids[2, 5])] == "all_upper"  # "ACME"


def test_casing_is_off_by_default_and_adds_an_embedding_when_on() -> None:
    default, _ = tiny_model()
    assert default.config.casing_dim == 0 and default.casing_embedding is None
    assert not any(name.startswith("casing") for name in default.state_dict())  # old files load strictly
    assert "casing_dim" not in default.config.to_dict()  # config.json as before the option
    assert NerConfig.from_dict(default.config.to_dict()) == default.config
    model, _ = tiny_model(casing_dim=3)
    assert model.casing_embedding is not None and model.casing_embedding.weight.shape == (len(CASINGS), 3)
    assert model.projection.in_features == default.projection.in_features + 3
    assert NerConfig.from_dict(model.config.to_dict()).casing_dim == 3
    with pytest.raises(ValueError, match=r"NerConfig.casing_dim must be >= 0 \(0 turns casing off\), got -1"):
        NerConfig(DIM, 10, 3, casing_dim=-1)


def test_dropout_is_a_keep_probability() -> None:
    model, _ = tiny_model()
    assert model.dropout.p == pytest.approx(0.5)
    assert NerTagger(NerConfig(DIM, 10, 3, dropout=0.8)).dropout.p == pytest.approx(0.2)
    with pytest.raises(ValueError, match="probability to keep"):
        NerConfig(DIM, 10, 3, dropout=0.0)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"char_lstm_hidden": 5}, {"lstm_layers": 2, "char_cnn_filters": 0}, {"casing_dim": 3}],
)
def test_a_sentence_scores_the_same_alone_and_padded_in_a_batch(overrides: dict[str, int]) -> None:
    model, chars = tiny_model(**overrides)
    encoded = encode_all(chars)
    with torch.inference_mode():
        together = model.emissions(collate(encoded))  # (3, 7, 5)
        for b, e in enumerate(encoded):
            alone = model.emissions(collate([e]))  # (1, L, 5)
            assert torch.allclose(together[b, : e.length], alone[0], atol=1e-5)


def test_decode_with_scores_agrees_with_decode() -> None:
    model, chars = tiny_model()
    batch = collate(encode_all(chars))
    with torch.inference_mode():
        paths = model.decode(batch)
        tags, confidence, marginals = model.decode_with_scores(batch)
    assert tags == paths and [len(p) for p in paths] == [5, 1, 7]
    for path, conf, probs in zip(tags, confidence, marginals, strict=True):
        assert probs.shape == (len(path), 5)
        assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
        assert conf == pytest.approx(probs[np.arange(len(path)), path].tolist())


def test_wrong_embedding_dim_is_named() -> None:
    model, chars = tiny_model()
    bad = NerExample(["a"], np.zeros((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match=f"dimension {DIM + 1} but the model was trained with dim {DIM}"):
        model.emissions(collate([encode_example(bad, chars.ids(), None, 24, 0)]))


def test_loss_trains_and_needs_tags() -> None:
    model, chars = tiny_model()
    tag_ids = {t: i for i, t in enumerate(["O", "B-LOC", "B-PER", "I-PER", "B-ORG"])}
    batch = collate([encode_example(SENTENCES[0], chars.ids(), tag_ids, 24, 0)])
    model.train()
    loss = model.loss(batch)
    assert loss.ndim == 0 and loss.item() > 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="gold tags"):
        model.loss(collate(encode_all(chars)))
