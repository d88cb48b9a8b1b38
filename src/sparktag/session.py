"""A local SparkSession set up for sparktag: Arrow on, loopback binding, memory sized to the machine.

:func:`start` also takes Spark NLP's ``sparknlp.start()`` arguments (``memory``, ``params``,
``real_time_output``, ``output_level``, ``gpu``, ...), so a notebook's first cell runs unchanged.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any


def start(
    gpu: bool = False,
    *,
    app_name: str = "sparktag",
    master: str | None = None,
    driver_memory: str | None = None,
    arrow_batch_rows: int = 1024,
    ui: bool = False,
    config: dict[str, str] | None = None,
    memory: str | None = None,
    params: dict[str, Any] | None = None,
    real_time_output: bool = False,
    output_level: int = 1,
    apple_silicon: bool = False,
    aarch64: bool = False,
    cache_folder: str = "",
    log_folder: str = "",
    cluster_tmp_dir: str = "",
) -> Any:
    """Return a SparkSession for sparktag (an existing active one is reused as is).

    Args:
        gpu: Spark NLP's ``gpu=True``; sparktag runs PyTorch on the CPU, so this raises a clear error (see
            ``docs/migrating.md``).
        app_name: Spark application name.
        master: Spark master; defaults to ``$SPARK_MASTER`` or ``local[*]``.
        driver_memory: e.g. ``"4g"``; defaults to a quarter of the machine's memory (at least 1g, at most 16g).
        arrow_batch_rows: rows per Arrow batch handed to sparktag's Python stages (smaller batches keep
            memory flat for embedding stages; larger ones amortise per-batch overhead).
        ui: start the Spark web UI (off by default: it takes a port and memory).
        config: any other Spark settings.
        memory: Spark NLP's name for ``driver_memory`` (``memory="16G"``); give one of the two.
        params: Spark NLP's name for ``config`` (a dict of Spark settings); both may be given if they agree.
        real_time_output: copy the JVM's stdout into this process's ``sys.stdout`` as it is written (what a
            notebook shows), as Spark NLP does.
        output_level: with ``real_time_output``, ``0`` also copies the JVM's stderr (Spark's log) into
            ``sys.stderr``; ``1`` (default) drops it, as Spark NLP does. No effect otherwise.
        apple_silicon: accepted; Spark NLP picks a jar build with it, sparktag has no jar (no effect).
        aarch64: accepted; as ``apple_silicon`` (no effect).
        cache_folder: the folder ``pretrained()`` loads models from (sets ``$SPARKTAG_MODELS``).
        log_folder: accepted; no effect (give ``NerDLApproach.setOutputLogsPath`` instead), with a warning.
        cluster_tmp_dir: accepted; no effect, with a warning.

    Returns:
        the SparkSession.

    Raises:
        ValueError: two arguments name the same setting with different values (``memory`` and
            ``driver_memory``, a key of ``params`` and ``config``).
        TypeError: ``params`` or ``config`` is not a dict.
        RuntimeError: ``gpu=True``.

    Example:
        >>> spark = sparktag.start()  # doctest: +SKIP
        >>> spark = sparktag.start(memory="8G", params={"spark.sql.shuffle.partitions": "16"})  # doctest: +SKIP
    """
    if gpu:
        _refuse_gpu()
    settings = spark_settings(
        app_name=app_name,
        master=master,
        driver_memory=driver_memory,
        arrow_batch_rows=arrow_batch_rows,
        ui=ui,
        config=config,
        memory=memory,
        params=params,
    )
    for name, value in (("log_folder", log_folder), ("cluster_tmp_dir", cluster_tmp_dir)):
        if value:
            warnings.warn(
                f"sparktag.start({name}=...) has no effect in sparktag: training logs go to "
                "NerDLApproach().setOutputLogsPath(folder), word-vector indexes to $SPARKTAG_CACHE",
                UserWarning,
                stacklevel=2,
            )
    if cache_folder:
        os.environ["SPARKTAG_MODELS"] = cache_folder
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
        if memory or driver_memory or params or config or real_time_output or master:
            # as Spark NLP warns: JVM settings (memory, master, output) cannot change once it runs
            warnings.warn(
                "sparktag.start: a SparkSession is already running; it is returned as is and the settings "
                "given here do not apply to it (stop it first with spark.stop() to start another)",
                UserWarning,
                stacklevel=2,
            )
        return active
    if real_time_output:
        return _start_with_real_time_output(settings, output_level)
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_settings(
    *,
    app_name: str = "sparktag",
    master: str | None = None,
    driver_memory: str | None = None,
    arrow_batch_rows: int = 1024,
    ui: bool = False,
    config: dict[str, str] | None = None,
    memory: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The Spark settings :func:`start` applies, after checking that Spark NLP's and sparktag's names agree.

    Args:
        see :func:`start`.

    Returns:
        setting name -> value, in the order they are applied (``config``/``params`` last, so they win).

    Raises:
        ValueError: ``memory`` and ``driver_memory`` (or ``spark.driver.memory`` in ``params``/``config``), or a
            key of ``params`` and of ``config``, have different values.
        TypeError: ``params`` or ``config`` is not a dict.

    Example:
        >>> spark_settings(memory="16G")["spark.driver.memory"]
        '16G'
    """
    extra: dict[str, str] = {}
    for name, given in (("config", config), ("params", params)):
        if given is None:
            continue
        if not isinstance(given, dict):
            raise TypeError(
                f"sparktag.start: {name} must be a dict like {{'spark.executor.memory': '8G'}}; "
                f"got {type(given).__name__}"
            )
        for key, value in given.items():
            if key in extra and extra[key] != str(value):
                raise ValueError(
                    f"sparktag.start: config and params both set {key!r}, to {extra[key]!r} and {str(value)!r}; "
                    "give it once"
                )
            extra[key] = str(value)
    memories = {
        name: value
        for name, value in (
            ("driver_memory", driver_memory),
            ("memory", memory),
            ("spark.driver.memory in config/params", extra.get("spark.driver.memory")),
        )
        if value
    }
    if len({str(v).strip().lower() for v in memories.values()}) > 1:
        listed = ", ".join(f"{name}={value!r}" for name, value in memories.items())
        raise ValueError(
            f"sparktag.start: the driver memory is given twice with different values ({listed}); give one"
        )
    chosen_memory = next(iter(memories.values()), None) or _default_memory()
    settings = {
        "spark.app.name": app_name,
        "spark.master": master or os.environ.get("SPARK_MASTER", "local[*]"),
        "spark.driver.memory": str(chosen_memory),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": str(ui).lower(),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(arrow_batch_rows),
        "spark.sql.shuffle.partitions": "8",
        "spark.python.worker.reuse": "true",
    }
    settings.update(extra)
    return settings


def _refuse_gpu() -> None:
    """``gpu=True``: say plainly what sparktag does instead (it never silently trains on the CPU)."""
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
        device = torch.cuda.get_device_name(0) if cuda else ""
    except ImportError:  # pragma: no cover - torch is a dependency
        cuda, device = False, ""
    if not cuda:
        raise RuntimeError(
            "sparktag.start(gpu=True): torch sees no CUDA device (torch.cuda.is_available() is False). "
            "sparktag trains and tags with PyTorch on the CPU; call sparktag.start() without gpu=True"
        )
    raise RuntimeError(
        f"sparktag.start(gpu=True): torch sees {device}, but sparktag's stages run PyTorch on the CPU "
        "(no stage moves its model to CUDA yet); call sparktag.start() without gpu=True"
    )


def _start_with_real_time_output(settings: dict[str, str], output_level: int) -> Any:
    """Launch the JVM with pipes for its stdout/stderr and copy them here line by line (Spark NLP's way)."""
    import subprocess
    import threading

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    conf = SparkConf(loadDefaults=False)
    for key, value in settings.items():
        conf.set(key, value)
    gateway = launch_gateway(
        conf=conf, popen_kwargs={"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "bufsize": 0}
    )

    def copy(stream: Any, to_stderr: bool, show: bool) -> None:
        # looked up per line: a notebook (or a test) may swap sys.stdout after start()
        for line in iter(stream.readline, b""):
            if show:
                target = sys.stderr if to_stderr else sys.stdout
                target.write(line.decode("utf-8", errors="replace"))
                target.flush()

    # stderr is read even when dropped: an unread pipe fills up and blocks the JVM
    for stream, to_stderr, show in (
        (gateway.proc.stdout, False, True),
        (gateway.proc.stderr, True, output_level == 0),
    ):
        threading.Thread(target=copy, args=(stream, to_stderr, show), daemon=True).start()
    context = SparkContext(gateway=gateway, conf=conf)
    return SparkSession(context)


def _default_memory() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    gib = max(1, min(16, total // (4 * 1024**3)))
    return f"{gib}g"
