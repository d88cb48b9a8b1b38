"""Contextual word embeddings from a local Hugging Face encoder folder (BERT, DistilBERT, MiniLM, RoBERTa).

The batch API the ``BertEmbeddings`` stage and LightPipeline call: words in (already tokenized), one
``(n_words, dim)`` float32 matrix per sentence out. Models load only from local folders
(``local_files_only=True``); nothing is downloaded.

How a batch is encoded (:meth:`TransformerEncoder.embed`):

1. Words are lowercased unless ``case_sensitive`` (Spark NLP's ``caseSensitive=False`` does the same),
   then wordpiece-tokenized in one call to the fast (Rust) tokenizer; ``word_ids()`` maps pieces to words.
   A word the tokenizer drops entirely (a zero-width or control character) gets one ``[UNK]`` piece, so every
   word gets a vector.
2. A sentence longer than ``max_sentence_length`` wordpieces (special tokens included) is cut into windows
   that overlap by half a window; each wordpiece's vector is taken from the window where it is most central,
   so no word is truncated and every word keeps at least a quarter-window of context on each side.
3. Windows are sorted by length and packed into batches of at most ``batch_size * max_sentence_length``
   padded wordpieces (see :class:`EncoderConfig`), one forward pass each under ``torch.inference_mode``.
4. The chosen hidden layers (``layers``, the last by default) are combined per wordpiece (``layer_pooling``,
   see :mod:`sparktag.embeddings.layers`), then wordpiece vectors are pooled into word vectors with one
   vectorised gather (``first``) or ``np.add.reduceat`` (``mean``) per sentence.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sparktag.embeddings.layers import (
    LAYER_POOLINGS,
    combine_layers,
    layer_factor,
    layers_problem,
    resolve_layers,
    transformers_hidden_states,
)
from sparktag.embeddings.model_folders import (
    check_folder,
    quiet_progress_bars,
    safe_relative_parts,
    usable_positions,
)
from sparktag.embeddings.wordpieces import (
    SentenceVectors,
    batch_inputs,
    length_batches,
    sentence_windows,
    special_tokens,
    split_words,
)

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

POOLING_STRATEGIES = ("first", "mean")
PRECISIONS = ("float32", "bfloat16")  # as sparktag.embeddings.bert's, which imports torch


@dataclass(frozen=True)
class EncoderConfig:
    """How :meth:`TransformerEncoder.embed` encodes; the defaults are Spark NLP ``BertEmbeddings``'s.

    Args:
        case_sensitive: keep the words' case. ``False`` (Spark NLP's default) lowercases every word before
            wordpiece tokenization, which suits uncased models and hurts cased ones.
        max_sentence_length: wordpieces per forward pass, special tokens included (Spark NLP's
            ``maxSentenceLength``). Longer sentences are windowed, never truncated.
        batch_size: Spark NLP's ``batchSize``. Here it bounds the padded size of a forward pass to
            ``batch_size * max_sentence_length`` wordpieces, the most Spark NLP's batch of ``batch_size``
            full-length sentences would use; windows are length-sorted, so short sentences are packed more
            densely (about 48 CoNLL sentences per pass with the defaults) and run at full CPU throughput.
        pooling: ``"first"`` takes each word's first wordpiece (Spark NLP's ``isWordStart`` piece);
            ``"mean"`` averages the word's wordpieces.
        precision: ``"float32"`` (transformers' numbers, bit for bit) or ``"bfloat16"`` matrix products,
            opt-in for BERT models (see :mod:`sparktag.embeddings.bert`).
        layers: which hidden states make the vectors, as Python indices into transformers' ``hidden_states``:
            0 is the embedding output, 1..n the layers' outputs, -1 the last layer (the default), -2 the one
            before. Checked against the model's layer count when it embeds. sparktag's own BERT stops after
            the deepest layer asked for (``(-2,)`` skips the last layer's compute).
        layer_pooling: ``"mean"`` averages the chosen layers (the vector keeps the hidden size); ``"concat"``
            joins them in the order given (``len(layers)`` times the hidden size). A tagger's first dense
            projection of concatenated layers can learn any linear mix of them, which includes ELMo's
            learned scalar mix.
    """

    case_sensitive: bool = False
    max_sentence_length: int = 128
    batch_size: int = 8
    pooling: str = "first"
    precision: str = "float32"
    layers: tuple[int, ...] = (-1,)
    layer_pooling: str = "mean"

    def __post_init__(self) -> None:
        problem = layers_problem(self.layers)
        if problem:
            raise ValueError(problem)
        object.__setattr__(self, "layers", tuple(self.layers))  # a list is welcome; the config stays hashable
        if self.layer_pooling not in LAYER_POOLINGS:
            raise ValueError(f"layer_pooling must be one of {LAYER_POOLINGS}; got {self.layer_pooling!r}")
        if self.pooling not in POOLING_STRATEGIES:
            raise ValueError(f"pooling must be one of {POOLING_STRATEGIES}; got {self.pooling!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {self.batch_size}")
        if self.max_sentence_length < 4:
            raise ValueError(
                f"max_sentence_length must be at least 4 wordpieces; got {self.max_sentence_length}"
            )


class TransformerEncoder:
    """A Hugging Face encoder and its fast tokenizer, embedding pre-tokenized sentences word by word.

    Create one with :meth:`from_folder` (a ``save_pretrained`` folder) or :meth:`from_files`.

    Example:
        >>> encoder = TransformerEncoder.from_folder(model_folders.resolve_pretrained("all_minilm_l6_v2"))
        >>> [m.shape for m in encoder.embed([["Peter", "lives", "in", "Berlin", "."]])]
        [(5, 384)]
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                f"{type(tokenizer).__name__} is not a fast (Rust) tokenizer; word alignment needs one. "
                "Save the folder with a tokenizer.json (AutoTokenizer.from_pretrained(name).save_pretrained(dir))."
            )
        model = model.eval()
        config = model.config
        pad_id, unk_id = tokenizer.pad_token_id, tokenizer.unk_token_id
        self._setup(
            forward=lambda *args: transformers_hidden_states(model, *args),
            encode_words=lambda words: (
                tokenizer(
                    words,
                    is_split_into_words=True,
                    add_special_tokens=False,
                    return_attention_mask=False,
                    return_token_type_ids=False,
                ).encodings
            ),
            special=tokenizer([["a"]], is_split_into_words=True, add_special_tokens=True).encodings[0],
            pad_id=pad_id,
            unk_id=unk_id,
            dimension=int(config.hidden_size),
            n_layers=int(config.num_hidden_layers),
            max_positions=usable_positions(
                int(getattr(config, "max_position_embeddings", 512) or 512),
                config.model_type,
                int(config.pad_token_id or 0),
                getattr(tokenizer, "model_max_length", None),
            ),
            files=None,
        )
        self._model = model
        self._tokenizer = tokenizer

    def _setup(
        self,
        forward: Callable[[Any, Any, str, tuple[int, ...]], list[Any]],
        encode_words: Callable[[list[list[str]]], list[Any]],
        special: Any,
        pad_id: int | None,
        unk_id: int | None,
        dimension: int,
        n_layers: int,
        max_positions: int,
        files: dict[str, bytes] | None,
    ) -> None:
        """What :meth:`embed` needs, however the model was loaded.

        Args:
            forward: ``(input_ids, attention_mask, precision, layers)``, (B, T) tensors, one of
                :data:`PRECISIONS` and hidden-state indices ``0..n_layers`` -> one ``(B, T, D)`` float32
                tensor per index.
            encode_words: pre-split sentences -> one ``tokenizers.Encoding`` each, no special tokens.
            special: the ``Encoding`` of the one word ``"a"`` with special tokens (finds ``[CLS]``/``[SEP]``).
            pad_id, unk_id: the padding and unknown-token ids (None: padding 0, unknown = padding).
            dimension, n_layers, max_positions: the hidden size, the number of transformer layers and the
                longest input the model allows.
            files: the files it was loaded from, if known (:meth:`to_files` returns them as they are).
        """
        self._forward = forward
        self._encode_words = encode_words
        self._prefix, self._suffix = special_tokens(special)
        self._pad_id = int(pad_id) if pad_id is not None else 0
        self._unk_id = int(unk_id) if unk_id is not None else self._pad_id
        self._dimension = dimension
        self._n_layers = n_layers
        self._max_positions = max_positions
        self._files = files

    # -- loading ------------------------------------------------------------------------------------------
    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> TransformerEncoder:
        """Load a local Hugging Face model folder: ``config.json``, tokenizer files and weights.

        Raises:
            FileNotFoundError: the folder, its config, its tokenizer or its weights are missing; the message
                names the file and how to export a complete folder.
        """
        path = Path(folder).expanduser()
        check_folder(path)
        import torch
        from transformers import AutoModel, AutoTokenizer

        with quiet_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            if getattr(tokenizer, "add_prefix_space", None) is False:
                # Byte-level BPE (RoBERTa, GPT-2) needs a space before each pre-split word.
                tokenizer = AutoTokenizer.from_pretrained(
                    str(path), local_files_only=True, add_prefix_space=True
                )
            model = AutoModel.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
        return cls(model, tokenizer)

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> TransformerEncoder:
        """Load an encoder from :meth:`to_files` output (e.g. read back from a saved Spark stage).

        A BERT (MiniLM, ...) with a BERT tokenizer runs on :mod:`sparktag.embeddings.bert` and ``tokenizers``,
        without importing transformers (seconds saved in every fresh process); its vectors are bitwise those
        of transformers. Any other model is written to a private temporary folder, loaded with transformers,
        and the folder removed.
        """
        for name in files:
            safe_relative_parts(name)
        plain = cls.from_bert_files(files)
        if plain is not None:
            return plain
        with tempfile.TemporaryDirectory(prefix="sparktag-encoder-") as tmp:
            for name, data in files.items():
                target = Path(tmp, *safe_relative_parts(name))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            return cls.from_folder(tmp)

    @classmethod
    def from_bert_files(cls, files: dict[str, bytes]) -> TransformerEncoder | None:
        """Load a BERT from :meth:`to_files` output without transformers; None if the files need transformers
        (see :func:`sparktag.embeddings.bert.plain_bert_parts`)."""
        from sparktag.embeddings.bert import plain_bert_parts

        parts = plain_bert_parts(files)
        if parts is None:
            return None
        encoder = cls.__new__(cls)  # __init__ takes transformers objects; _setup is what both ways share
        encoder._setup(**parts, files=dict(files))
        return encoder

    def to_files(self) -> dict[str, bytes]:
        """Every file needed to load this encoder again: config, tokenizer files, ``model.safetensors``.

        Returns:
            relative POSIX path -> file contents; pass it to :meth:`from_files`.
        """
        if self._files is not None:
            return dict(self._files)
        with tempfile.TemporaryDirectory(prefix="sparktag-encoder-") as tmp, quiet_progress_bars():
            self._model.save_pretrained(tmp)  # transformers 5 writes safetensors only
            self._tokenizer.save_pretrained(tmp)
            root = Path(tmp)
            return {
                p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            }

    # -- properties ---------------------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        """The model's hidden size: a word vector's size with one layer or ``layer_pooling="mean"``."""
        return self._dimension

    @property
    def n_layers(self) -> int:
        """The model's number of transformer layers (it has one more hidden state: the embedding output)."""
        return self._n_layers

    def output_dimension(self, config: EncoderConfig | None = None) -> int:
        """Size of the word vectors :meth:`embed` gives with ``config``: the hidden size, times the number
        of layers when ``config.layer_pooling`` is ``"concat"``."""
        config = config or EncoderConfig()
        return self._dimension * layer_factor(config.layers, config.layer_pooling)

    @property
    def max_positions(self) -> int:
        """The longest input (special tokens included) the model's position embeddings allow."""
        return self._max_positions

    # -- encoding -----------------------------------------------------------------------------------------
    def embed(
        self, sentences: Sequence[Sequence[str]], config: EncoderConfig | None = None
    ) -> list[np.ndarray]:
        """Embed pre-tokenized sentences: one ``(n_words, output_dimension(config))`` float32 matrix each.

        Args:
            sentences: each a list of words (tokens); an empty sentence gives a ``(0, dim)`` matrix.
            config: casing, window length, batch bound, pooling and layers; Spark NLP's defaults when omitted.

        Returns:
            the matrices, in the order of ``sentences``; row ``i`` is word ``i``'s vector.

        Example:
            >>> vectors = encoder.embed([["EU", "rejects", "German", "call"]], EncoderConfig(pooling="mean"))
            >>> vectors[0].shape
            (4, 384)
        """
        import torch

        config = config or EncoderConfig()
        n_special = len(self._prefix) + len(self._suffix)
        if config.max_sentence_length > self._max_positions:
            raise ValueError(
                f"max_sentence_length={config.max_sentence_length} exceeds what the model's position "
                f"embeddings allow ({self._max_positions} wordpieces); set it to {self._max_positions} or less"
            )
        window = config.max_sentence_length - n_special  # content wordpieces per forward row
        if window < 2:
            raise ValueError(
                f"max_sentence_length={config.max_sentence_length} leaves {window} wordpieces after the "
                f"model's {n_special} special tokens; use at least {n_special + 2}"
            )

        layers = resolve_layers(config.layers, self._n_layers)  # raises before any work: a wrong index
        dim = self.output_dimension(config)
        piece_ids, word_ids = self._tokenize(sentences, config.case_sensitive)
        windows = [
            w for i, ids in enumerate(piece_ids) if len(ids) for w in sentence_windows(i, len(ids), window)
        ]
        out = SentenceVectors(windows, word_ids, dim, config.pooling)
        windows.sort(key=lambda w: w.end - w.start)
        max_tokens = config.batch_size * config.max_sentence_length
        p = len(self._prefix)
        with torch.inference_mode():
            for batch in length_batches(windows, n_special, max_tokens):
                input_ids, mask = batch_inputs(batch, piece_ids, self._prefix, self._suffix, self._pad_id)
                states = self._forward(
                    torch.from_numpy(input_ids), torch.from_numpy(mask), config.precision, layers
                )
                hidden = combine_layers(states, config.layer_pooling).float().numpy()  # (batch, seq_len, dim)
                for row, w in enumerate(batch):
                    out.add(w, hidden[row, p + w.keep_start - w.start : p + w.keep_end - w.start])
        return out.vectors

    def _tokenize(
        self, sentences: Sequence[Sequence[str]], case_sensitive: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Wordpiece ids and their word indices per sentence, every word with at least one piece."""
        return split_words(sentences, self._encode_words, case_sensitive, self._unk_id)


# -- process-wide cache ---------------------------------------------------------------------------------
_ENCODERS: dict[str, TransformerEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(key: str, loader: Callable[[], TransformerEncoder]) -> TransformerEncoder:
    """The encoder cached under ``key`` in this process, calling ``loader`` only the first time.

    A Spark Python worker is reused across tasks, so a model loads once per worker, not once per batch.

    Example:
        >>> encoder = get_encoder(digest, lambda: TransformerEncoder.from_files(files))
    """
    encoder = _ENCODERS.get(key)
    if encoder is not None:
        return encoder
    with _ENCODERS_LOCK:  # one load even when threads race; loads are rare so one lock is enough
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = loader()
            _ENCODERS[key] = encoder
        return encoder


def clear_encoders() -> None:
    """Forget every cached encoder (frees their memory once nothing else holds them)."""
    with _ENCODERS_LOCK:
        _ENCODERS.clear()
