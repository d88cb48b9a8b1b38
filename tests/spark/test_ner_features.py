"""NerDLApproach's featurised records read back as examples (no Spark needed for this side)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sparktag.spark.ner_features import example_chunks, record_schema, records_to_examples


def records(sentences: list[list[str]], dim: int = 3) -> pa.RecordBatch:
    matrices = [np.arange(len(s) * dim, dtype=np.float32).reshape(len(s), dim) for s in sentences]
    return pa.RecordBatch.from_pydict(
        {
            "tokens": sentences,
            "tags": [["O"] * len(s) for s in sentences],
            "dim": [dim] * len(sentences),
            "vectors": [m.tobytes() for m in matrices],
        },
        schema=record_schema(),
    )


def test_records_become_examples_viewing_the_arrow_buffers():
    examples = records_to_examples(records([["Anna", "Berg"], [], ["Oslo"]]))
    assert [e.tokens for e in examples] == [["Anna", "Berg"], ["Oslo"]]  # empty sentences are skipped
    assert examples[0].embeddings.shape == (2, 3) and examples[0].embeddings[1].tolist() == [3.0, 4.0, 5.0]
    assert not examples[0].embeddings.flags.owndata


def test_example_chunks_hold_every_example_once():
    batches = [records([["a"], ["b", "c"]]), records([["d"]])]
    chunks = list(example_chunks(batches))
    assert [e.tokens for chunk in chunks for e in chunk] == [["a"], ["b", "c"], ["d"]]
