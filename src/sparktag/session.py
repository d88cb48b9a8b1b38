"""A local SparkSession set up for sparktag: Arrow on, loopback binding, memory sized to the machine."""

from __future__ import annotations

import os
import sys
from typing import Any


def start(
    *,
    app_name: str = "sparktag",
    master: str | None = None,
    driver_memory: str | None = None,
    arrow_batch_rows: int = 1024,
    ui: bool = False,
    config: dict[str, str] | None = None,
) -> Any:
    """Return a SparkSession for sparktag (an existing active one is reused as is).

    Args:
        app_name: Spark application name.
        master: Spark master; defaults to ``$SPARK_MASTER`` or ``local[*]``.
        driver_memory: e.g. ``"4g"``; defaults to a quarter of the machine's memory (at least 1g, at most 16g).
        arrow_batch_rows: rows per Arrow batch handed to sparktag's Python stages (smaller batches keep
            memory flat for embedding stages; larger ones amortise per-batch overhead).
        ui: start the Spark web UI (off by default: it takes a port and memory).
        config: any other Spark settings.

    Example:
        >>> spark = sparktag.start()  # doctest: +SKIP
    """
    # Spark otherwise binds to whatever non-loopback address the hostname resolves to.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    # Workers must run this interpreter (the one sparktag is installed in), not whatever python3 is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master or os.environ.get("SPARK_MASTER", "local[*]"))
        .config("spark.driver.memory", driver_memory or _default_memory())
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(arrow_batch_rows))
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.python.worker.reuse", "true")
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _default_memory() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    gib = max(1, min(16, total // (4 * 1024**3)))
    return f"{gib}g"
