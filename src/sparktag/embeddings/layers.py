"""Which of an encoder's hidden layers make a word's vector, and how they are combined.

An encoder with ``n`` layers has ``n + 1`` hidden states, numbered as transformers' ``hidden_states``: index 0
is the embedding layer's output (word + position embeddings, normalized), index ``i`` the output of layer
``i``, index ``n`` (or ``-1``) the last layer's. Python-style negative indices count from the end: on a
6-layer MiniLM, ``-1`` is 6, ``-4`` is 3 and ``-7`` is 0.

Token-level tasks often do better with more than the last layer (ELMo's scalar mix; the BERT paper's
feature-based NER, where the last four layers concatenated scored best; Flair's ``layers="-1,-2,-3,-4"``),
especially with a sentence-embedding model whose last layer is tuned for mean pooling. ``layer_pooling``
combines the chosen states per wordpiece: ``"mean"`` averages them (same size as one layer), ``"concat"``
joins them in the given order (``len(layers)`` times the size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: how the chosen hidden layers are combined into one vector per wordpiece
LAYER_POOLINGS = ("mean", "concat")
#: the keys a ``config.json`` names its number of layers by (BERT/RoBERTa/MiniLM, DistilBERT, others)
_LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layers", "num_layers")


def layers_problem(layers: Sequence[Any], name: str = "layers") -> str | None:
    """What is wrong with ``layers`` regardless of the model (the whole error message), or None.

    ``name`` is how the user set it (``layers`` of ``EncoderConfig``, or the ``layers`` param).
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        return f"{name} must be a non-empty list of layer indices such as [-1] or [-1, -2, -3, -4]; got {layers!r}"
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in layers):
        return f"{name} must hold integers (hidden-state indices, -1 is the last layer); got {list(layers)!r}"
    if len(set(layers)) != len(layers):
        return f"{name}={list(layers)} names a layer twice; give each layer once"
    return None


def resolve_layers(layers: Sequence[int], n_layers: int, name: str = "layers") -> tuple[int, ...]:
    """Python-style hidden-state indices as indices ``0..n_layers`` (0: the embedding output), in order.

    Args:
        layers: indices into the ``n_layers + 1`` hidden states; negative ones count from the end.
        n_layers: the model's number of transformer layers.
        name: how the user set ``layers``, for the error message.

    Raises:
        ValueError: an index out of range, or two that name the same layer; the message gives the allowed
            range and an example.

    Example:
        >>> resolve_layers([-1, -2, 0], 6)
        (6, 5, 0)
    """
    problem = layers_problem(layers, name)
    if problem:
        raise ValueError(problem)
    out = []
    for index in layers:
        if not -(n_layers + 1) <= index <= n_layers:
            raise ValueError(
                f"{name}={list(layers)}: index {index} is out of range for this model, which has {n_layers} "
                f"layers and so {n_layers + 1} hidden states: use indices from {-(n_layers + 1)} to {n_layers} "
                f"(-1 or {n_layers} is the last layer, 0 or {-(n_layers + 1)} the embedding output), e.g. "
                f"{list(range(-1, -min(4, n_layers) - 1, -1))} for the last {min(4, n_layers)}"
            )
        out.append(index % (n_layers + 1))
    if len(set(out)) != len(out):
        raise ValueError(
            f"{name}={list(layers)} names the same layer twice (a negative and a positive index) on this "
            f"{n_layers}-layer model; give each layer once"
        )
    return tuple(out)


def layer_factor(layers: Sequence[int], layer_pooling: str) -> int:
    """How many hidden sizes one output vector holds: ``len(layers)`` for ``"concat"``, else 1."""
    return len(layers) if layer_pooling == "concat" else 1


def combine_layers(states: Sequence[Any], layer_pooling: str) -> Any:
    """One ``(B, T, out_dim)`` tensor from the chosen ``(B, T, D)`` hidden states, in their order.

    A single state is returned as it is (the last layer alone gives the encoder's usual bits); ``"mean"``
    averages in float32 (``out_dim = D``), ``"concat"`` joins along the last axis (``out_dim = len * D``).
    """
    import torch

    if len(states) == 1:
        return states[0]
    if layer_pooling == "concat":
        return torch.cat(list(states), dim=-1)
    return torch.stack(list(states)).mean(dim=0)  # (L, B, T, D) -> (B, T, D)


def layer_count(config: dict[str, Any]) -> int | None:
    """The number of transformer layers a parsed ``config.json`` gives, or None if it names none."""
    for key in _LAYER_COUNT_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def transformers_hidden_states(
    model: Any, input_ids: Any, mask: Any, precision: str, layers: Sequence[int]
) -> list[Any]:
    """A transformers model's hidden states ``layers`` (indices ``0..n``, see :func:`resolve_layers`), each
    ``(B, T, D)``; it runs in float32 only, and all its layers (transformers has no early exit)."""
    if precision != "float32":
        raise ValueError(
            f"precision={precision!r} runs on sparktag's own BERT only (a 'bert' model with gelu or relu and "
            f"absolute positions, and a BERT tokenizer); this {model.config.model_type!r} model runs in float32"
        )
    n_layers = int(model.config.num_hidden_layers)
    if list(layers) == [n_layers]:  # the last layer alone: no other states kept
        return [model(input_ids=input_ids, attention_mask=mask).last_hidden_state]
    states = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states
    if len(states) != n_layers + 1:
        raise ValueError(
            f"this {model.config.model_type!r} model returned {len(states)} hidden states for its "
            f"{n_layers} layers; only layers=[-1] works with it"
        )
    return [states[i] for i in layers]
