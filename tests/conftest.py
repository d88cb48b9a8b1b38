"""Shared fixtures: one real local SparkSession for the whole run, and the bundled sample data."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Every Spark JVM of a test run (this session's, and those of the `sparktag` commands and workers the tests
# start) lives minutes at most, on two cores: C2's optimised code does not repay compiling it. C1 alone runs the
# same code on a third less CPU (tests/spark: 66 -> 44 CPU-s; one `sparktag train`: its JVM's 36 -> 18).
# pytest_configure adds a shared archive of Spark's classes (jvm_archive.py) unless PYSPARK_SUBMIT_ARGS was set.
_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
_OWN_SUBMIT_ARGS = "PYSPARK_SUBMIT_ARGS" not in os.environ
os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-java-options={_JAVA_OPTIONS} pyspark-shell")
# Caches (word-vector indexes) go to a folder of this run, never the user's home.
os.environ.setdefault("SPARKTAG_CACHE", tempfile.mkdtemp(prefix="sparktag-test-cache-"))

# pytest-xdist's workers run as `python -c`: a __main__ with neither __file__ nor __spec__, which pyspark's Spark
# Connect package (imported by mlflow.spark.log_model and MLflow's pyspark.ml autologging) takes for a doctest run
# and, without grpc, ends with sys.exit(0). A __spec__ named __main__ tells it otherwise and changes nothing else
# (multiprocessing's spawn skips a main module of that name).
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)

_ARCHIVE_JOB = pytest.StashKey["object"]()

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "src" / "sparktag" / "data" / "sample"


@pytest.fixture(scope="session")
def spark():
    """A real local[2] SparkSession, stopped at the end of the run."""
    import sparktag

    session = sparktag.start(master="local[2]", driver_memory="2g")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR


def sample_words() -> list[str]:
    """Every distinct token of the bundled sample, in first-seen order."""
    from tiny_bert import conll_words

    return conll_words(SAMPLE_DIR / "train.conll", SAMPLE_DIR / "test.conll")


@pytest.fixture(scope="session")
def sample_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 1-layer BERT (hidden 32) whose vocab holds every sample word, saved as an HF folder."""
    from tiny_bert import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("sample_bert"), sample_words())


# The test groups that take longest (seconds on two cores: the standalone cluster's tests ~500, the tracking
# guide ~410, the sweeps ~250 and their guide ~200, the CLI ~200), run first so that no process is left with one
# of them at the end.
_LONG_FIRST = (
    "tests/cluster",
    "tests/tracking/test_tracking_docs.py",
    "tests/tracking/test_sweep.py",
    "tests/tracking/test_sweep_docs.py",
    "tests/cli/test_cli.py",
)


def _group(nodeid: str) -> str:
    """A test's group: its module, or tests/cluster for the standalone cluster's tests (one cluster for all)."""
    module = nodeid.split("::", 1)[0]
    return "tests/cluster" if module.startswith("tests/cluster/") else module


def pytest_configure(config: pytest.Config) -> None:
    """In the run's first process (not in pytest-xdist's workers, which inherit its environment): start making
    the archive of Spark's classes, and point every JVM the tests start at it."""
    if hasattr(config, "workerinput") or not _OWN_SUBMIT_ARGS:
        return
    from jvm_archive import ArchiveJob

    job = ArchiveJob(Path(tempfile.mkdtemp(prefix="sparktag-test-jvm-")), _JAVA_OPTIONS)
    os.environ["PYSPARK_SUBMIT_ARGS"] = job.submit_args()
    config.stash[_ARCHIVE_JOB] = job.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    job = config.stash.get(_ARCHIVE_JOB, None)
    if job is not None:
        job.stop()
        shutil.rmtree(job.archive.parent, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        group = _group(item.nodeid)
        return _LONG_FIRST.index(group) if group in _LONG_FIRST else len(_LONG_FIRST)

    items.sort(key=rank)  # stable: the order within and among the other groups is kept


if importlib.util.find_spec("xdist") is not None:

    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        """``make test`` runs the tests in 2 processes (pytest-xdist), a group (:func:`_group`) per process.

        A module's tests stay in one process, so its module and session fixtures (trained models, servers) are
        built once; the standalone cluster's tests share one cluster. Groups go out in collection order, which
        puts the longest first. One process left two cores about a fifth idle (31 min for 2,460 CPU-s); two
        processes take 20 min.
        """
        from xdist.scheduler import LoadScopeScheduling

        class ByGroup(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _group(nodeid)

        config.option.loadscopereorder = False  # xdist would put the groups with the most tests first
        return ByGroup(config, log)
