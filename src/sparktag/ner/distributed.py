"""Data-parallel training, the torch side: what each rank of a gloo process group does beyond the plain loop.

``train(..., group=RankGroup.join())`` runs the loop of ``ner/train.py`` on one shard of the data per process;
the hooks of this module keep the ranks in step:

* vocabularies, tag list, sizes and the data fingerprint are agreed over every shard, so each rank builds the
  same network (and a checkpoint describes the whole data);
* every rank cuts the same batches from the data of every rank together (``training_data.epoch_steps``) and
  trains the members it holds, each weighted by its share of the batch; every step all-reduces one flat
  buffer (every gradient, then the loss), so the gradient applied is the mean over the whole batch, identical
  on every rank, and the weights stay identical without a broadcast. With per-sentence dropout masks
  (``model.RowNoise``), the steps are those of one process on the whole data: n ranks train the model one
  process trains with the same seed, up to float rounding;
* every rank runs every step (gloo collectives hang when one rank stops calling them): a rank holding none
  of a step's sentences joins it with zero gradients;
* validation/test predictions are gathered, so every rank computes the scores of the whole held-out data.

Only rank 0 has listeners; :class:`EventRelay` sends its events to the driver's listeners (the Spark NLP log,
the progress line, MLflow autologging), which run where the user started the fit. Nothing here imports Spark.

    >>> with RankGroup.join() as group:                     # in a process started by torchrun
    ...     result = train(shard, config, group=group, listeners=[relay] if group.is_main else [])
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import distributed as dist


@dataclass
class CommStats:
    """What the gradient all-reduce cost on one rank: the numbers the distributed benchmark reports."""

    steps: int = 0
    comm_s: float = 0.0  # wall time inside the step's all-reduce (waiting for slower ranks included)
    bytes_per_step: int = 0  # the all-reduce payload: every gradient plus the float32 loss

    @property
    def comm_ms_per_step(self) -> float:
        return 1000.0 * self.comm_s / self.steps if self.steps else 0.0


class RankGroup:
    """This process's place in a (gloo, CPU) process group, and the collectives the training loop calls.

    Args:
        rank: this process's rank, 0..world_size-1; rank 0 emits events and writes checkpoints.
        world_size: number of processes training together.
    """

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank = rank
        self.world_size = world_size
        self.stats = CommStats()

    @classmethod
    def join(cls, timeout_s: float = 1800.0) -> RankGroup:
        """Join the group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``)."""
        from datetime import timedelta

        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=timedelta(seconds=timeout_s))
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def close(self, finished: bool = True) -> None:
        """Leave the group. ``finished``: every rank got here the normal way, so wait for all of them first.

        Without that wait a rank that is done early (rank 0 hosts the group's store) can tear down while another
        is still inside the group's last collective or its own teardown, and gloo aborts that process (``terminate
        called without an active exception``, about 1 run in 15 with 3 ranks). After a failure the others may
        never arrive, so there is no waiting then.
        """
        if dist.is_initialized():
            if finished:
                dist.barrier()
            dist.destroy_process_group()

    def __enter__(self) -> RankGroup:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.close(finished=exc_type is None)

    # -- agreeing on the data --------------------------------------------------------------------------
    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable), in rank order."""
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def broadcast(self, value: int) -> int:
        """Rank 0's ``value`` (a seed drawn at random must be the same everywhere)."""
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return int(box[0])

    def agree_vocab(self, chars: set[str], tags: set[str], dim: int | None) -> tuple[set[str], set[str], int]:
        """The characters and tags of every shard, and their one embedding dimension.

        Raises:
            ValueError: a shard has no sentence with tokens, or shards disagree on the embedding dimension.
        """
        shards = self.gather((sorted(chars), sorted(tags), dim))
        dims = [d for _, _, d in shards]
        if None in dims:
            raise ValueError(
                f"the training shard of rank {dims.index(None)} has no sentence with tokens; every worker needs "
                "training data: use fewer workers (numWorkers) or more data"
            )
        if len(set(dims)) > 1:
            raise ValueError(f"the shards have word embeddings of different dimensions {dims}: one per rank")
        all_chars = set().union(*(set(c) for c, _, _ in shards))
        all_tags = set().union(*(set(t) for _, t, _ in shards))
        return all_chars, all_tags, int(dims[0])

    def total(self, n: int) -> int:
        """The sum of ``n`` over the ranks (training examples of the whole data)."""
        return int(sum(self.gather(int(n))))

    def digest(self, hexdigest: str) -> str:
        """One fingerprint of every shard's data (each rank's digest, in rank order)."""
        return hashlib.blake2b("/".join(self.gather(hexdigest)).encode(), digest_size=16).hexdigest()

    def gather_tags(
        self, gold: list[list[str]], pred: list[list[str]]
    ) -> tuple[list[list[str]], list[list[str]]]:
        """Every rank's gold and predicted tags, so scores cover the whole validation/test data."""
        all_gold: list[list[str]] = []
        all_pred: list[list[str]] = []
        for g, p in self.gather((gold, pred)):
            all_gold.extend(g)
            all_pred.extend(p)
        return all_gold, all_pred

    # -- one step ---------------------------------------------------------------------------------------
    def reduce_gradients(self, model: torch.nn.Module, loss: float) -> float:
        """Sum the gradients of every rank, in place; the sum of the ranks' losses.

        Each rank's gradients (and loss) are already weighted by its share of the step's sentences, so the sum
        is the gradient of the mean loss over the step's whole batch. A rank holding none of the step's
        sentences has no gradients and adds zeros. One flat float32 buffer keeps it to one all-reduce per step.

        Args:
            model: the network; its ``.grad`` tensors are replaced by the sum (also where they were None).
            loss: this rank's weighted loss (0.0 without sentences this step).

        Returns:
            the step's loss: the mean over the step's sentences, as one process computes it.
        """
        params = [p for p in model.parameters() if p.requires_grad]
        sizes = [p.numel() for p in params]
        flat = torch.zeros(sum(sizes) + 1, dtype=torch.float32)  # (n_params + 1,)
        offset = 0
        for p, n in zip(params, sizes, strict=True):
            if p.grad is not None:
                flat[offset : offset + n] = p.grad.reshape(-1)
            offset += n
        flat[-1] = float(loss)
        start = time.perf_counter()
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        self.stats.comm_s += time.perf_counter() - start
        self.stats.steps += 1
        self.stats.bytes_per_step = flat.numel() * flat.element_size()
        offset = 0
        for p, n in zip(params, sizes, strict=True):
            p.grad = flat[offset : offset + n].view_as(p).clone()
            offset += n
        return float(flat[-1])


class EventRelay:
    """A listener that sends every event over an authenticated connection to the driver's listeners.

    ``multiprocessing.connection`` authenticates both ends with an HMAC challenge on ``authkey`` before a byte
    of data is read, so only a process that got the key from the driver (inside the pickled task) can send.

    Args:
        address: the driver's ``(host, port)``.
        authkey: the random key the driver listens with.
    """

    def __init__(self, address: tuple[str, int], authkey: bytes) -> None:
        from multiprocessing.connection import Client

        self._conn = Client(address, authkey=authkey)

    def on_event(self, event: Any) -> None:
        self._conn.send(event)

    def close(self) -> None:
        self._conn.close()
