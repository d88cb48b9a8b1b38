"""sparktag.start() with Spark NLP's arguments: the settings it applies, conflicts, gpu, real-time JVM output."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import sparktag
from sparktag.session import spark_settings


def test_spark_nlp_names_map_to_spark_settings():
    settings = spark_settings(memory="16G", params={"spark.kryoserializer.buffer.max": "2000M"})
    assert settings["spark.driver.memory"] == "16G"
    assert settings["spark.kryoserializer.buffer.max"] == "2000M"
    # sparktag's own names still work, and agreeing duplicates are fine
    same = spark_settings(driver_memory="4g", memory="4G", config={"a.b": "1"}, params={"a.b": "1", "c": 2})
    assert same["spark.driver.memory"] == "4g" and same["a.b"] == "1" and same["c"] == "2"
    # params/config are applied last: they may set anything, as in Spark NLP
    assert spark_settings(params={"spark.sql.shuffle.partitions": "3"})["spark.sql.shuffle.partitions"] == "3"


def test_conflicting_values_are_refused_before_anything_starts():
    with pytest.raises(ValueError, match=r"driver memory is given twice.*driver_memory='4g', memory='16G'"):
        sparktag.start(driver_memory="4g", memory="16G")
    with pytest.raises(ValueError, match=r"memory='2g', spark.driver.memory in config/params='3g'"):
        sparktag.start(memory="2g", params={"spark.driver.memory": "3g"})
    with pytest.raises(
        ValueError, match=r"config and params both set 'spark.executor.cores', to '1' and '2'"
    ):
        sparktag.start(config={"spark.executor.cores": "1"}, params={"spark.executor.cores": "2"})
    with pytest.raises(TypeError, match=r"params must be a dict like"):
        sparktag.start(params=[("spark.executor.memory", "8G")])  # type: ignore[arg-type]


def test_gpu_is_refused_with_what_to_do():
    import torch

    with pytest.raises(RuntimeError) as err:
        sparktag.start(gpu=True)
    message = str(err.value)
    assert "without gpu=True" in message
    if not torch.cuda.is_available():
        assert "torch sees no CUDA device" in message
    with pytest.raises(RuntimeError):
        sparktag.start(True)  # Spark NLP's first positional argument


WORKER = textwrap.dedent(
    """
    import io, sys, time
    import sparktag

    out, err = io.StringIO(), io.StringIO()
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err  # what a notebook does: Python-level streams, not the process's fds
    spark = sparktag.start(
        real_time_output=True, output_level=int(sys.argv[1]), master="local[1]", memory="1100m",
        params={"spark.sql.shuffle.partitions": "3"}, cache_folder=sys.argv[2],
    )
    import os
    models = os.environ["SPARKTAG_MODELS"]
    conf = spark.sparkContext.getConf()
    jvm = spark.sparkContext._jvm
    jvm.System.out.println("line-from-jvm-stdout")
    jvm.System.err.println("line-from-jvm-stderr")
    jvm.System.out.flush(); jvm.System.err.flush()
    time.sleep(2)
    spark.stop()
    sys.stdout, sys.stderr = real_out, real_err
    print(conf.get("spark.driver.memory"), conf.get("spark.sql.shuffle.partitions"), models == sys.argv[2])
    print("STDOUT", "line-from-jvm-stdout" in out.getvalue())
    print("STDERR", "line-from-jvm-stderr" in err.getvalue())
    """
)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize(("level", "stderr_shown"), [(0, True), (1, False)])
def test_real_time_output_copies_the_jvm_output_into_python(level, stderr_shown, tmp_path):
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1")
    run = subprocess.run(
        [sys.executable, "-c", WORKER, str(level), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()[-3:]
    assert lines == ["1100m 3 True", "STDOUT True", f"STDERR {stderr_shown}"], run.stdout[-2000:]
