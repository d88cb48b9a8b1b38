"""One rank of a data-parallel training of the tiny tagger of ``test_train.py``, in its own OS process, for
``test_data_parallel.py``. Every rank holds a contiguous slice of ``DATA`` (rank after rank: the whole data in
order, as ``sparktag.spark.distributed.row_ranges`` cuts it) and trains with a gloo group; rank 0 writes the
trained weights and the history to ``OUT``.

    RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 python rank_worker.py OUT '{"max_epochs": 2}'
"""

from __future__ import annotations

import json
import os
import sys

import torch

from sparktag.ner.data import ExampleSource
from sparktag.ner.distributed import RankGroup
from sparktag.ner.train import train

from synthetic import DATA, local_evaluate, quick


def main() -> None:
    out, overrides = sys.argv[1], json.loads(sys.argv[2])
    chunk = overrides.pop("chunk", None)  # stream the shard in chunks of this many sentences
    with RankGroup.join(timeout_s=120) as group:
        rank, world = group.rank, group.world_size
        shard = DATA[rank * len(DATA) // world : (rank + 1) * len(DATA) // world]
        # scored rows are gathered: any split of the test data scores the whole of it
        test = DATA[rank::world]
        data = (lambda: [shard[i : i + chunk] for i in range(0, len(shard), chunk)]) if chunk else shard
        result = train(data, quick(**overrides), test=test, evaluate=local_evaluate, group=group)
    assert ExampleSource(data).streaming == bool(chunk)
    if rank == 0:
        torch.save(
            {
                "weights": result.model.state_dict(),
                "losses": [e.loss for e in result.history],
                "batches": [e.batches for e in result.history],
                "test_f1": [e.test.entity.micro_f1 for e in result.history if e.test is not None],
                "validation_examples": [e.validation.examples for e in result.history if e.validation],
                "steps": group.stats.steps,
            },
            out,
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
