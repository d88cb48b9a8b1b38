"""An autologged ``Pipeline.fit`` with ``checkpointPath``, in its own OS process (with its own JVM), for the
kill-and-resume test of ``test_autolog.py``.

It fits ``pipelines.autolog_pipeline`` on the first 100 sample sentences, as the test's ``train_df`` fixture does.
With ``--pause-at EPOCH:BATCH`` a listener stops right after that batch, writes ``<out>/paused`` and sleeps,
so the test can SIGKILL the process mid-epoch. Otherwise the fitted NerDLModel is saved to ``<out>/ner`` and
``<out>/result.json`` gets the MLflow run id and the training log's path.

    python autolog_resume_worker.py --bert-dir B --sample-dir S --checkpoint-dir D --logs-dir L --out O \\
        --tracking-uri URI --experiment-id ID [--pause-at 3:2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

EPOCHS = 4


class Pause:
    def __init__(self, epoch: int, batch: int, marker: Path) -> None:
        self.epoch, self.batch, self.marker = epoch, batch, marker

    def on_event(self, event: Any) -> None:
        if type(event).__name__ == "BatchEnded" and (event.epoch, event.batch) == (self.epoch, self.batch):
            self.marker.write_text("paused")
            time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in (
        "--bert-dir",
        "--sample-dir",
        "--checkpoint-dir",
        "--logs-dir",
        "--out",
        "--tracking-uri",
        "--experiment-id",
    ):
        parser.add_argument(name, required=True)
    parser.add_argument("--pause-at", default=None)
    args = parser.parse_args()

    import mlflow

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared pipeline builders
    import sparktag
    from sparktag.spark.ner_dl import LISTENER_FACTORIES
    from sparktag.tracking import autolog as autolog_module
    from sparktag.training import CoNLL

    from pipelines import autolog_pipeline

    out = Path(args.out)
    spark = sparktag.start(master="local[2]", driver_memory="1g")
    spark.sparkContext.setLogLevel("ERROR")
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(experiment_id=args.experiment_id)
    autolog_module.autolog()
    if args.pause_at:
        epoch, batch = (int(x) for x in args.pause_at.split(":"))
        LISTENER_FACTORIES.append(lambda approach: Pause(epoch, batch, out / "paused"))
    train = CoNLL().readDataset(spark, str(Path(args.sample_dir) / "train.conll")).limit(100)
    pipe = autolog_pipeline(args.bert_dir, Path(args.logs_dir), epochs=EPOCHS)  # the same params in every run
    pipe.getStages()[-1].setCheckpointPath(args.checkpoint_dir)
    model = pipe.fit(train)
    model.stages[-1].write().overwrite().save(str(out / "ner"))
    listener = autolog_module.last_listener()
    assert listener is not None
    result = {
        "run_id": listener.run_id,
        "errors": listener.errors,
        "log_path": pipe.getStages()[-1].log_path(),
        "resumed_from": model.stages[-1].training_result.resumed_from,
    }
    (out / "result.json").write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


if __name__ == "__main__":
    main()
