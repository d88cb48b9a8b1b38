"""A class-data-sharing archive of the classes a Spark driver loads, made once per test run.

Every `sparktag` command, fresh-process check and cluster driver the tests start is a new Spark JVM, and on two
cores a JVM spends most of its start in loading and verifying the same ten thousand classes. Java 17 can dump the
classes one JVM loaded (``-XX:ArchiveClassesAtExit``) and map them into the next (``-XX:SharedArchiveFile``):
a session start and a first job went from 8.4 to 4.7 CPU-s here. The archive is made by running this file (a
small job over the sample: CoNLL reading, the text stages, parquet), in the background while the first tests
run, and is used only by the tests' JVMs. A JVM whose class path differs from the archive's (another Spark)
ignores it and starts as before.

    python tests/jvm_archive.py FOLDER   # run by :class:`ArchiveJob` with the dump option
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"
# the JVM's unified logging writes to stdout, where a CLI's output is read: CDS says nothing
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


class ArchiveJob:
    """Makes ``folder/spark-classes.jsa`` in the background; JVMs that start before it is there start as before.

    The archive is dumped under another name and renamed when complete: a JVM that maps a half-written
    archive dies (SIGBUS), one that finds no file at all starts without it.
    """

    def __init__(self, folder: Path, java_options: str) -> None:
        self.archive = folder / "spark-classes.jsa"
        self._folder = folder
        self._options = java_options
        self._process: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._run, name="jvm-class-archive", daemon=True)

    def submit_args(self) -> str:
        """``PYSPARK_SUBMIT_ARGS`` for drivers that map the archive once it exists."""
        options = f"{self._options} -XX:SharedArchiveFile={self.archive} {QUIET}"
        return f"--driver-java-options={shlex.quote(options)} pyspark-shell"

    def start(self) -> ArchiveJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the job if it still runs (a short test run is over before the archive is)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._thread.join(timeout=10)

    def _run(self, timeout_s: float = 300.0) -> None:
        partial = self._folder / f"partial-{os.getpid()}.jsa"
        options = f"{self._options} -XX:ArchiveClassesAtExit={partial} {QUIET}"
        env = {
            **os.environ,
            "PYSPARK_SUBMIT_ARGS": f"--driver-java-options={shlex.quote(options)} pyspark-shell",
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, __file__, str(self._folder)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            out, _ = self._process.communicate(timeout=timeout_s)
        except (subprocess.SubprocessError, OSError):
            return
        pid = out.split()[-1] if out.split() else ""
        if self._process.returncode != 0 or not pid.isdigit():
            return  # without the JVM's pid there is no telling when its archive is complete
        # the JVM writes the archive as it exits, which it does once the job's Python has let go of it
        jvm = Path(f"/proc/{pid}")
        deadline = time.monotonic() + 60
        while jvm.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not jvm.exists() and partial.is_file() and partial.stat().st_size > 0:
            os.replace(partial, self.archive)


def _job(folder: Path) -> None:
    from pyspark.ml import Pipeline

    import sparktag
    from sparktag.annotator import SentenceDetector, Tokenizer
    from sparktag.base import DocumentAssembler
    from sparktag.training import CoNLL

    spark = sparktag.start(master="local[2]")
    jvm = _jvm_pid()
    data = CoNLL().readDataset(spark, str(SAMPLE / "test.conll"))
    texts = data.select("text").limit(20)
    stages = [
        DocumentAssembler().setInputCol("text").setOutputCol("document"),
        SentenceDetector().setInputCols(["document"]).setOutputCol("sentence"),
        Tokenizer().setInputCols(["sentence"]).setOutputCol("token"),
    ]
    model = Pipeline(stages=stages).fit(texts)
    model.transform(texts).write.mode("overwrite").parquet(str(folder / "job.parquet"))
    spark.read.parquet(str(folder / "job.parquet")).count()
    model.write().overwrite().save(str(folder / "job.model"))
    spark.stop()
    print(jvm)


def _jvm_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and "(java)" in stat:
                return int(entry.name)
    return None


if __name__ == "__main__":
    _job(Path(sys.argv[1]))
