"""BERT's encoder in plain torch: transformers' ``BertModel`` forward pass, without importing transformers.

A server loads a saved pipeline in a fresh process, and importing transformers' modeling code there takes
seconds (``modeling_bert`` pulls in torch.distributed, dynamo and the generation utilities); its module
machinery also costs about 2 ms of every one-sentence forward pass. For the configurations it covers
(``model_type`` "bert", absolute positions, ``gelu`` or ``relu``: BERT, MiniLM and their fine-tunes),
:class:`PlainBert` computes ``last_hidden_state`` (or any of ``hidden_states``, stopping after the deepest
one asked for) with the same torch operations in the same order as transformers' default ``sdpa`` attention,
so its output is bitwise equal (a test checks it on padded batches). :func:`unsupported` says why any other
configuration goes through transformers instead.

Opt-in ``precision="bfloat16"`` runs the matrix products on bfloat16 copies of the weights (layer norms,
attention softmax and activations stay float32): about a quarter less CPU per sentence on CPUs with native
bfloat16 (AVX-512 BF16, AMX), vectors within a few 1e-3. On the bundled sample's test data the demo's MiniLM
tagger gives the same tags for every token that way; confidences move in the third decimal.

Example:
    >>> model = PlainBert.from_files(json.loads(files["config.json"]), files["model.safetensors"])  # doctest: +SKIP
    >>> model(input_ids, attention_mask).shape  # doctest: +SKIP
    torch.Size([1, 21, 384])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from torch import Tensor
from torch.nn import functional

from sparktag.embeddings.layers import resolve_layers

#: arithmetic of the matrix products: float32 (transformers' bits) or bfloat16 weights and inputs
PRECISIONS = ("float32", "bfloat16")
#: activations this module computes exactly as transformers' ACT2FN does
_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"gelu": functional.gelu, "relu": functional.relu}
#: per layer, the parameters ``save_pretrained`` stores under ``encoder.layer.<i>.``, in :class:`_Layer` order
_LAYER_KEYS = (
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)
_EMBEDDING_KEYS = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)
#: stored tensors the forward pass does not read (the pooler's, an old position-ids buffer)
_UNUSED_PREFIXES = ("pooler.", "embeddings.position_ids")


class _Layer(NamedTuple):
    query_w: Tensor
    query_b: Tensor
    key_w: Tensor
    key_b: Tensor
    value_w: Tensor
    value_b: Tensor
    attention_out_w: Tensor
    attention_out_b: Tensor
    attention_norm_w: Tensor
    attention_norm_b: Tensor
    intermediate_w: Tensor
    intermediate_b: Tensor
    out_w: Tensor
    out_b: Tensor
    out_norm_w: Tensor
    out_norm_b: Tensor


def unsupported(config: dict[str, Any]) -> str | None:
    """Why :class:`PlainBert` cannot compute this ``config.json`` exactly as transformers does; None if it can."""
    if config.get("model_type") != "bert":
        return f"model_type {config.get('model_type')!r} is not 'bert'"
    if config.get("hidden_act", "gelu") not in _ACTIVATIONS:
        return f"hidden_act {config.get('hidden_act')!r} is not one of {sorted(_ACTIVATIONS)}"
    if config.get("position_embedding_type", "absolute") not in (None, "absolute"):
        return f"position_embedding_type {config.get('position_embedding_type')!r} is not 'absolute'"
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return "a decoder (is_decoder or add_cross_attention)"
    if config.get("chunk_size_feed_forward"):
        return "chunk_size_feed_forward is set"
    if config.get("_attn_implementation") not in (None, "sdpa"):
        return f"attention implementation {config.get('_attn_implementation')!r} is not 'sdpa'"
    return None


class PlainBert:
    """The encoder of a ``BertModel``: ``(input_ids, attention_mask) -> last_hidden_state`` in eval mode
    (:meth:`hidden_states` for other layers).

    Args:
        config: the parsed ``config.json``; :func:`unsupported` must return None for it.
        state: the parameters by the names ``BertModel.save_pretrained`` gives them (float32).

    Raises:
        ValueError: the config is not covered, or a parameter is missing.
    """

    def __init__(self, config: dict[str, Any], state: dict[str, Tensor]) -> None:
        why = unsupported(config)
        if why is not None:
            raise ValueError(f"PlainBert cannot run this model: {why}")
        n_layers = int(config["num_hidden_layers"])
        needed = [*_EMBEDDING_KEYS] + [
            f"encoder.layer.{i}.{key}" for i in range(n_layers) for key in _LAYER_KEYS
        ]
        missing = [name for name in needed if name not in state]
        if missing:
            raise ValueError(f"PlainBert: the weights lack {missing[:3]} ({len(missing)} missing)")
        known = set(needed)
        extra = [n for n in state if n not in known and not n.startswith(_UNUSED_PREFIXES)]
        if extra:
            raise ValueError(f"PlainBert: the weights hold parameters a BertModel does not have: {extra[:3]}")
        weights = {name: state[name].float() for name in needed}  # a no-op for float32 files
        self.hidden_size = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of {self.heads} heads")
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.activation: Callable[[Tensor], Tensor] = _ACTIVATIONS[config.get("hidden_act", "gelu")]
        self.word = weights["embeddings.word_embeddings.weight"]  # (vocab, D)
        self.position = weights["embeddings.position_embeddings.weight"]  # (max_positions, D)
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]  # (D,) type 0 only
        self.norm_w = weights["embeddings.LayerNorm.weight"]
        self.norm_b = weights["embeddings.LayerNorm.bias"]
        self.layers = [
            _Layer(*(weights[f"encoder.layer.{i}.{key}"] for key in _LAYER_KEYS)) for i in range(n_layers)
        ]
        self._bfloat16_layers: list[_Layer] | None = None  # made on first use: +half the weights' memory

    @classmethod
    def from_files(cls, config: dict[str, Any], weights: bytes) -> PlainBert:
        """Build from a parsed ``config.json`` and the bytes of ``model.safetensors``."""
        from safetensors.torch import load

        return cls(config, load(weights))

    @property
    def max_position_embeddings(self) -> int:
        return int(self.position.shape[0])

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def __call__(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, precision: str = "float32"
    ) -> Tensor:
        """``(B, T)`` wordpiece ids and 0/1 mask -> ``(B, T, D)`` float32 hidden states of the last layer.

        ``precision`` is one of :data:`PRECISIONS`; ``"float32"`` gives transformers' numbers exactly.
        """
        return self.hidden_states(input_ids, attention_mask, precision, (-1,))[0]

    def hidden_states(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        precision: str = "float32",
        layers: Sequence[int] = (-1,),
    ) -> list[Tensor]:
        """The ``(B, T, D)`` float32 hidden states ``layers``, in that order, numbered as transformers'
        ``hidden_states`` (0: the embedding output, -1: the last layer; see :mod:`sparktag.embeddings.layers`).

        Layers after the deepest one asked for are not computed: ``layers=(-4,)`` of a 6-layer model runs 3.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
        wanted = resolve_layers(layers, self.n_layers)
        batch, seq_len = input_ids.shape
        dim = self.hidden_size
        head_dim = dim // self.heads
        norm = functional.layer_norm
        linear: Callable[[Tensor, Tensor, Tensor], Tensor] = functional.linear
        weights = self.layers
        if precision == "bfloat16":
            linear, weights = _bfloat16_linear, self._bfloat16()
        # Each step mirrors transformers (BertEmbeddings, BertSelfAttention + sdpa, BertSelfOutput,
        # BertIntermediate, BertOutput) operation for operation: the float results are the same bits.
        x = functional.embedding(input_ids, self.word) + self.token_type  # (B, T, D)
        x = x + self.position[:seq_len]
        x = norm(x, (dim,), self.norm_w, self.norm_b, self.eps)
        states = {0: x} if 0 in wanted else {}
        mask = None  # no padding: transformers skips the mask too, and sdpa takes its unmasked kernel
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = attention_mask.bool()[:, None, None, :].expand(batch, 1, seq_len, seq_len)  # (B, 1, T, T)
        heads = (batch, seq_len, -1, head_dim)
        scale = head_dim**-0.5
        for i, layer in enumerate(weights[: max(wanted)], start=1):  # the deepest state asked for ends it
            q = linear(x, layer.query_w, layer.query_b).view(heads).transpose(1, 2)  # (B, H, T, hd)
            k = linear(x, layer.key_w, layer.key_b).view(heads).transpose(1, 2)
            v = linear(x, layer.value_w, layer.value_b).view(heads).transpose(1, 2)
            context = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
            context = context.transpose(1, 2).reshape(batch, seq_len, dim)
            attended = linear(context, layer.attention_out_w, layer.attention_out_b) + x
            x = norm(attended, (dim,), layer.attention_norm_w, layer.attention_norm_b, self.eps)
            hidden = self.activation(linear(x, layer.intermediate_w, layer.intermediate_b))  # (B, T, I)
            out = linear(hidden, layer.out_w, layer.out_b) + x
            x = norm(out, (dim,), layer.out_norm_w, layer.out_norm_b, self.eps)
            if i in wanted:
                states[i] = x
        return [states[i] for i in wanted]

    def _bfloat16(self) -> list[_Layer]:
        """The layers with bfloat16 matrix weights and biases; layer-norm parameters stay float32."""
        if self._bfloat16_layers is None:
            self._bfloat16_layers = [
                _Layer(
                    *(
                        value.bfloat16() if "norm" not in name else value
                        for name, value in zip(_Layer._fields, layer, strict=True)
                    )
                )
                for layer in self.layers
            ]
        return self._bfloat16_layers


def _bfloat16_linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``x @ weight.T + bias`` with bfloat16 inputs and weights (oneDNN's bf16 kernels), float32 out."""
    return functional.linear(x.bfloat16(), weight, bias).float()


def plain_bert_parts(files: dict[str, bytes]) -> dict[str, Any] | None:
    """What ``TransformerEncoder`` needs to run a saved BERT here, without transformers; None if it cannot.

    The model runs on :class:`PlainBert`, the words are split with the ``tokenizers`` library alone. None for
    another architecture (:func:`unsupported`), tokenizer class or file layout. The files are what
    ``TransformerEncoder.to_files`` wrote, so ``tokenizer.json`` holds the very tokenizer transformers ran;
    encoding pre-split words with it is what a fast tokenizer's ``__call__`` does (no truncation, no padding,
    special tokens read as text).

    Returns:
        the keyword arguments of ``TransformerEncoder._setup`` but ``files``: ``forward``, ``encode_words``,
        ``special``, ``pad_id``, ``unk_id``, ``dimension``, ``n_layers``, ``max_positions``.
    """
    import json

    from sparktag.embeddings.model_folders import token_text, usable_positions

    if not {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(files):
        return None
    config = json.loads(files["config.json"])
    tokenizer_config = json.loads(files["tokenizer_config.json"])
    if unsupported(config) is not None:
        return None
    if tokenizer_config.get("tokenizer_class") not in ("BertTokenizer", "BertTokenizerFast"):
        return None
    pad_token, unk_token = (token_text(tokenizer_config.get(k)) for k in ("pad_token", "unk_token"))
    if pad_token is None or unk_token is None:
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
    pad_id, unk_id = tokenizer.token_to_id(pad_token), tokenizer.token_to_id(unk_token)
    if pad_id is None or unk_id is None:
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.encode_special_tokens = False
    model = PlainBert.from_files(config, files["model.safetensors"])
    return {
        "forward": model.hidden_states,
        "encode_words": lambda words: tokenizer.encode_batch(
            words, is_pretokenized=True, add_special_tokens=False
        ),
        "special": tokenizer.encode(["a"], is_pretokenized=True, add_special_tokens=True),
        "pad_id": pad_id,
        "unk_id": unk_id,
        "dimension": model.hidden_size,
        "n_layers": model.n_layers,
        "max_positions": usable_positions(
            model.max_position_embeddings,
            "bert",
            int(config.get("pad_token_id") or 0),
            tokenizer_config.get("model_max_length"),
        ),
    }
