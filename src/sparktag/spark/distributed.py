"""NerDLApproach on several executors (``setNumWorkers(n)``): pyspark's TorchDistributor runs one gloo rank per task.

1. The featurised sentences (tokens, tags, float32 vectors: what ``ner_features.featurize`` makes in Spark) are written as
   parquet where every executor can read them: the SparkContext's checkpoint dir (``sc.setCheckpointDir``,
   which cluster users point at HDFS/S3/DBFS), or a local temp folder when the master is ``local``.
2. The rows, in file-name order (the DataFrame's order, as single-process training reads it), are cut into n
   contiguous ranges of equal size (one row apart at most), one per rank; each rank reads only its range and
   streams it (``enableMemoryOptimizer``) or holds it in memory. Rank after rank, the ranges are the whole
   data in order, which is what lets the ranks cut one process's batches (``ner/train.py``).
3. ``TorchDistributor(num_processes=n, local_mode=False)`` starts a barrier stage of n tasks; each runs
   :func:`_train_rank`: the loop of ``ner/train.py`` with a :class:`~sparktag.ner.distributed.RankGroup`
   (gradient all-reduce, equal steps per epoch, scores over every shard, checkpoints by rank 0).
4. Rank 0 relays its events over an authenticated TCP connection to the driver, where this module hands them
   to the same listeners as single-process training (Spark NLP log file, progress, MLflow autolog), on the
   thread that called ``fit``. Rank 0's return value brings the trained weights back.
"""

from __future__ import annotations

import logging
import queue
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("sparktag.ner")

_RUN_DONE = "__sparktag_run_done__"  # queue markers: the distributor returned / rank 0 closed its connection
_RELAY_CLOSED = "__sparktag_relay_closed__"


@dataclass(frozen=True)
class Slice:
    """Rows ``start <= i < stop`` of one parquet file."""

    uri: str
    start: int
    stop: int


@dataclass
class RankSpec:
    """What every rank gets (pickled into the tasks): its data, the config, where to send events."""

    train_files: list[list[Slice]]  # per rank: the parquet row ranges of its shard, in data order
    test_files: list[str]  # every rank reads these and scores rows i % world_size == rank
    streaming: bool  # enableMemoryOptimizer: stream the shard every epoch instead of holding it
    config: Any  # sparktag.ner.train.TrainConfig
    relay: tuple[str, int] | None = None
    authkey: bytes = b""


@dataclass
class DistributedResult:
    """The trained result on the driver, with what the gradient all-reduce cost (measured on rank 0)."""

    result: Any  # sparktag.ner.train.TrainResult
    workers: int
    steps: int = 0
    comm_s: float = 0.0
    bytes_per_step: int = 0
    files_per_rank: list[int] = field(default_factory=list)
    rows_per_rank: list[int] = field(default_factory=list)


def staging_folder(spark: Any, name: str) -> tuple[str, Callable[[], None]]:
    """A fresh folder URI every executor can read, and a function that removes it.

    Local master: a temp folder of this machine. Otherwise a folder under the SparkContext's checkpoint dir.

    Raises:
        ValueError: the master is not local and no checkpoint dir is set.
    """
    sc = spark.sparkContext
    if sc.master.startswith("local"):
        local = tempfile.mkdtemp(prefix="sparktag-ner-workers-")
        return "file://" + local, lambda: shutil.rmtree(local, ignore_errors=True)
    root = sc.getCheckpointDir()
    if not root:
        raise ValueError(
            f"{name}: numWorkers > 1 on master {sc.master!r} writes the featurised training data where every "
            "executor can read it, the SparkContext's checkpoint dir, which is not set; call "
            "spark.sparkContext.setCheckpointDir('hdfs:///...', 's3a://...' or a shared mount) first"
        )
    uri = f"{root.rstrip('/')}/sparktag-ner-{secrets.token_hex(8)}"
    jvm = sc._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
    return uri, lambda: fs.delete(path, True)


def _write_parquet(records: Any, uri: str) -> list[tuple[str, int]]:
    """Write records as parquet; the (file URI, rows) of every non-empty file, in name (= partition) order."""
    from pyspark.sql.functions import input_file_name

    from sparktag.spark.ner_features import ROW_GROUP_BYTES

    records.write.mode("overwrite").option("parquet.block.size", ROW_GROUP_BYTES).parquet(uri)
    spark = records.sparkSession
    rows = spark.read.parquet(uri).groupBy(input_file_name().alias("file")).count().collect()
    return sorted((r["file"], int(r["count"])) for r in rows if r["count"])


def row_ranges(files: Sequence[tuple[str, int]], workers: int) -> list[list[Slice]]:
    """The rows of ``files`` (in the given order) cut into ``workers`` contiguous ranges of equal size.

    Rank ``r`` gets rows ``r * N // workers`` to ``(r + 1) * N // workers`` of the ``N`` rows, as slices of
    the files they lie in. Deterministic for the same files, so a resumed fit gives every rank the same shard.
    """
    total = sum(rows for _, rows in files)
    bounds = [r * total // workers for r in range(workers + 1)]
    shards: list[list[Slice]] = [[] for _ in range(workers)]
    first = 0  # global index of the current file's first row
    for uri, rows in files:
        for rank in range(workers):
            start, stop = max(bounds[rank], first), min(bounds[rank + 1], first + rows)
            if start < stop:
                shards[rank].append(Slice(uri, start - first, stop - first))
        first += rows
    return shards


def _parquet_batches(slices: Sequence[Slice]) -> Iterator[Any]:
    """Record batches of parquet row ranges, a few rows at a time (``file:`` paths directly, others via
    pyarrow.fs); row groups wholly outside a range are not read."""
    from urllib.parse import unquote, urlparse

    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from sparktag.spark.ner_features import READ_ROWS

    for part in slices:
        if part.uri.startswith("file:"):
            source: Any = unquote(urlparse(part.uri).path)
        else:
            fs, path = pafs.FileSystem.from_uri(part.uri)
            source = fs.open_input_file(path)
        with pq.ParquetFile(source, pre_buffer=False) as parquet:
            groups: list[int] = []  # row groups that hold rows of the range
            first = 0  # the first row of the first of them
            seen = 0
            for g in range(parquet.metadata.num_row_groups):
                n = parquet.metadata.row_group(g).num_rows
                if seen + n > part.start and seen < part.stop:
                    if not groups:
                        first = seen
                    groups.append(g)
                seen += n
            row = first
            for batch in parquet.iter_batches(batch_size=READ_ROWS, row_groups=groups, use_threads=False):
                lo, hi = max(part.start - row, 0), min(part.stop - row, batch.num_rows)
                row += batch.num_rows
                if lo < hi:
                    yield batch.slice(lo, hi - lo)
                if row >= part.stop:
                    break


def shard_source(slices: Sequence[Slice], streaming: bool) -> Any:
    """A rank's training data: its examples in memory, or a chunk factory streaming them every epoch."""
    from sparktag.spark.ner_features import example_chunks, records_to_examples

    if not streaming:
        return [e for batch in _parquet_batches(slices) for e in records_to_examples(batch)]

    def chunks() -> Iterator[list[Any]]:
        return example_chunks(_parquet_batches(slices))

    return chunks


def _train_rank(spec: RankSpec) -> dict[str, Any] | None:
    """One rank (a process torchrun started in a barrier task): train on its shard; rank 0 returns the result."""
    from sparktag.ner.distributed import EventRelay, RankGroup
    from sparktag.ner.metrics import evaluate
    from sparktag.ner.model_files import to_files
    from sparktag.ner.train import train
    from sparktag.spark.ner_features import records_to_examples

    with RankGroup.join() as group:
        relay: EventRelay | None = None
        try:
            data = shard_source(spec.train_files[group.rank], spec.streaming)
            test = None
            if spec.test_files:
                whole = [Slice(uri, 0, 2**62) for uri in spec.test_files]
                rows = [e for b in _parquet_batches(whole) for e in records_to_examples(b)]
                test = rows[group.rank :: group.world_size]
            listeners = []
            if group.is_main and spec.relay is not None:
                try:
                    relay = EventRelay(spec.relay, spec.authkey)
                    listeners.append(relay)
                except OSError as err:  # events are for watching; training goes on without them
                    logger.warning("rank 0 cannot reach the driver at %s for events: %s", spec.relay, err)
            result = train(data, spec.config, test=test, evaluate=evaluate, listeners=listeners, group=group)
            if not group.is_main:
                return None
            return {
                "files": to_files(result.tagger),
                "history": result.history,
                "seed": result.seed,
                "best_epoch": result.best_epoch,
                "resumed_from": result.resumed_from,
                "steps": group.stats.steps,
                "comm_s": group.stats.comm_s,
                "bytes_per_step": group.stats.bytes_per_step,
            }
        finally:
            if relay is not None:
                relay.close()


class _EventServer:
    """Accepts rank 0's authenticated connection and queues the events it sends (a daemon thread)."""

    def __init__(self, host: str, events: queue.Queue[Any]) -> None:
        from multiprocessing.connection import Listener

        self.authkey = secrets.token_bytes(32)
        self._listener = Listener((host, 0), authkey=self.authkey)
        self.address: tuple[str, int] = self._listener.address  # type: ignore[assignment]
        self.connected = threading.Event()
        self._events = events
        threading.Thread(target=self._serve, name="sparktag-ner-events", daemon=True).start()

    def _serve(self) -> None:
        from multiprocessing import AuthenticationError

        while True:
            try:
                conn = self._listener.accept()
            except AuthenticationError:
                continue  # not our rank 0: keep waiting for it
            except OSError:
                return  # closed
            break
        self.connected.set()
        with conn:
            while True:
                try:
                    self._events.put(conn.recv())
                except (EOFError, OSError):
                    break
        self._events.put(_RELAY_CLOSED)

    def close(self) -> None:
        self._listener.close()


def train_distributed(
    train_records: Any,
    test_records: Any | None,
    config: Any,
    listeners: Sequence[Any],
    *,
    workers: int,
    streaming: bool,
    name: str,
) -> DistributedResult:
    """Train on ``workers`` executor processes; the driver's ``listeners`` get rank 0's events as they happen.

    Args:
        train_records: featurised training records (the DataFrame ``ner_features.featurize`` returns).
        test_records: featurised test records, or None.
        config: the :class:`~sparktag.ner.train.TrainConfig`; ``checkpoint_dir`` must be shared storage.
        listeners: the driver's listeners (log file, progress, MLflow).
        workers: number of ranks (barrier tasks); the cluster needs that many free task slots at once.
        streaming: stream each shard from parquet every epoch (``enableMemoryOptimizer``).
        name: the stage's name for error messages.

    Returns:
        the result (weights, history, seed) and the all-reduce cost measured on rank 0.

    Raises:
        ValueError: no training data, fewer sentences than workers, or no shared folder on a cluster.
        RuntimeError: a rank failed (the message holds the end of its output).
    """
    from pyspark.ml.torch.distributor import TorchDistributor

    from sparktag.ner.events import Listeners
    from sparktag.ner.model_files import from_files
    from sparktag.ner.train import TrainResult

    spark = train_records.sparkSession
    folder, remove = staging_folder(spark, name)
    events: queue.Queue[Any] = queue.Queue()
    server: _EventServer | None = None
    try:
        files = _write_parquet(train_records, folder + "/train")
        total = sum(rows for _, rows in files)
        if total == 0:
            raise ValueError(f"{name}: the training data has no labelled sentences; nothing to train on")
        if total < workers:
            raise ValueError(
                f"{name}: numWorkers={workers} but the featurised training data has {total} sentence(s); "
                "each worker needs a share: use fewer workers"
            )
        shards = row_ranges(files, workers)
        if config.batch_size % workers:
            # a step's sentences are trained where they lie: with batchSize a multiple of numWorkers each
            # worker holds batchSize / numWorkers of every step, else some hold one more (or none) and wait
            logger.warning(
                "%s: batchSize %d is not a multiple of numWorkers %d: every step waits for the workers that "
                "hold one sentence more%s; a multiple (e.g. %d) keeps them all busy",
                name,
                config.batch_size,
                workers,
                " and some workers hold none" if config.batch_size < workers else "",
                workers * max(1, round(config.batch_size / workers)),
            )
        test_files = (
            [uri for uri, _ in _write_parquet(test_records, folder + "/test")] if test_records else []
        )
        host = spark.sparkContext.getConf().get("spark.driver.host", "127.0.0.1")
        server = _EventServer(host, events)
        spec = RankSpec(shards, test_files, streaming, config, server.address, server.authkey)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = TorchDistributor(
                    num_processes=workers, local_mode=False, use_gpu=False
                ).run(_train_rank, spec)
            except BaseException as err:  # re-raised on the calling thread
                outcome["error"] = err
            finally:
                events.put(_RUN_DONE)

        threading.Thread(target=run, name="sparktag-ner-distributor", daemon=True).start()
        _deliver(events, server, Listeners(listeners))
        if "error" in outcome:
            raise RuntimeError(
                f"{name}: training on {workers} workers failed: {outcome['error']}"
            ) from outcome["error"]
        value = outcome["value"]
        tagger = from_files(value["files"])
        tagger.model.eval()
        result = TrainResult(
            model=tagger.model,
            tags=list(tagger.tags),
            char_vocab=tagger.char_vocab,
            best_epoch=value["best_epoch"],
            history=list(value["history"]),
            seed=value["seed"],
            resumed_from=value["resumed_from"],
        )
        return DistributedResult(
            result=result,
            workers=workers,
            steps=value["steps"],
            comm_s=value["comm_s"],
            bytes_per_step=value["bytes_per_step"],
            files_per_rank=[len(s) for s in shards],
            rows_per_rank=[sum(part.stop - part.start for part in s) for s in shards],
        )
    finally:
        if server is not None:
            server.close()
        try:
            remove()
        except Exception as err:  # the model is trained; a leftover folder is only a warning
            logger.warning("%s: could not remove the featurised data at %s: %s", name, folder, err)


def _deliver(events: queue.Queue[Any], server: _EventServer, bus: Any, drain_s: float = 30.0) -> None:
    """Hand queued events to the listeners on this thread until training ended and rank 0's stream closed."""
    run_done = relay_closed = False
    while not (run_done and (relay_closed or not server.connected.is_set())):
        try:
            item = events.get(timeout=drain_s if run_done else None)
        except queue.Empty:
            logger.warning("rank 0's event stream did not close %.0f s after training ended", drain_s)
            return
        if item is _RUN_DONE:
            run_done = True
        elif item is _RELAY_CLOSED:
            relay_closed = True
        else:
            bus.emit(item)


__all__ = [
    "DistributedResult",
    "RankSpec",
    "Slice",
    "row_ranges",
    "shard_source",
    "staging_folder",
    "train_distributed",
]
