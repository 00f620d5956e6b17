"""`--engine ray`: analyze's and video's per-file work spread over a Ray cluster with Ray Data.

The driver lists the files, Ray Data feeds them in batches to a pool of actors that each hold one analyzer (one
model load per worker), and the driver collects every file's result by its index and writes the same outputs as the
in-process engine. Ray retries the work of an actor that dies; a result is kept once per index, so no file is lost
or counted twice. Every node must see the input files, the model and the output folders at the same paths (one
machine, or a shared filesystem).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.inference.detect import DetectorConfig
from fer_core.inference.files import ImageRecord, analyze_file, annotated_paths
from fer_core.runs import registry

if TYPE_CHECKING:  # PyAV loads with the video module, only when a video is processed
    from fer_core.inference.video import VideoJob, VideoSummary

# Files per batch handed to an actor: small enough to keep both workers busy on a few dozen files, large enough
# that scheduling costs little beside the work.
IMAGES_PER_BATCH = 4
# A Ray Data batch: column name -> values.
Batch = dict[str, Any]
Progress = Callable[[int, int], None]


def connect(address: str | None = None) -> None:
    """Join the cluster at address ("auto": the one this machine belongs to), or start a local one for this run.

    Workers run this checkout's fer_core and read the models from the driver's models folder."""
    import logging
    import warnings

    # No Ray Data progress bars, execution logs or Python warnings on the command line's stderr. (Ray's C++ core
    # may still log a line there: it notes that an actor's constructor arguments live in the object store.)
    import ray
    import ray.data

    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"ray(\.|$)")
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    if ray.is_initialized():
        return
    package_parent = str(Path(__file__).resolve().parents[2])
    env = {"PYTHONPATH": package_parent, "FER_MODELS_DIR": str(registry.MODELS_DIR.resolve()),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    ray.init(address=address, runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)


def cluster_cpus() -> int:
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray leaves it untyped
    return max(1, int(resources.get("CPU", 1)))


def _gather(results: Any, column: str, inputs: list[str], progress: Progress | None = None) -> list[Any]:
    """The unpickled results in the inputs' order, each index kept once (a retried batch may come back twice);
    an input with no result is an error, never a silent gap."""
    found: dict[int, Any] = {}
    for row in results.iter_rows():
        found.setdefault(int(row["index"]), pickle.loads(row[column]))
        if progress:
            progress(len(found), len(inputs))
    missing = [name for i, name in enumerate(inputs) if i not in found]
    if missing:
        raise RuntimeError(f"the cluster returned no result for {len(missing)} input(s), e.g. {missing[0]}")
    return [found[i] for i in range(len(inputs))]


class _ImageWorker:
    """One analyzer per actor; a batch of (index, path, annotated path) -> pickled ImageRecords by index."""

    def __init__(self, model_path: str, detector: DetectorConfig, tta: str | None):
        from fer_core.inference.pipeline import Analyzer
        from fer_core.inference.predictor import Predictor

        self.analyzer = Analyzer(Predictor.load(model_path), detector, tta=tta)

    def __call__(self, batch: Batch) -> Batch:
        records = [pickle.dumps(analyze_file(path, self.analyzer, Path(annotated) if annotated else None))
                   for path, annotated in zip(batch["path"], batch["annotated"], strict=True)]
        return {"index": np.asarray(batch["index"]), "record": np.array(records, dtype=object)}


def analyze_files_on_ray(paths: Sequence[str | os.PathLike[str]], model_path: str | os.PathLike[str],
                         detector: DetectorConfig, tta: str | None, annotated_dir: Path | None = None,
                         address: str | None = None, workers: int | None = None,
                         on_error: Callable[[str, str], None] | None = None,
                         progress: Progress | None = None) -> list[ImageRecord]:
    """The records analyze_files would give, computed by `workers` actors (default: one per CPU of the cluster).

    Ray Data restarts a dead actor and retries its batches (max_restarts=-1, max_task_retries=-1 are its defaults
    for actor pools)."""
    import ray

    connect(address)
    items = [{"index": i, "path": str(path), "annotated": str(annotated) if annotated else ""}
             for i, (path, annotated) in enumerate(zip(paths, annotated_paths(paths, annotated_dir), strict=True))]
    dataset = ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // IMAGES_PER_BATCH)))
    results = dataset.map_batches(
        _ImageWorker, fn_constructor_kwargs={"model_path": str(model_path), "detector": detector, "tta": tta},
        batch_size=IMAGES_PER_BATCH, compute=ray.data.ActorPoolStrategy(size=workers or cluster_cpus()),
        num_cpus=1)
    records: list[ImageRecord] = _gather(results, "record", [str(item["path"]) for item in items], progress)
    for record in records:
        if record.error and on_error:
            on_error(record.image, record.error)
    return records


class _VideoWorker:
    """One model per actor; a batch of video jobs -> pickled VideoSummaries by index, files written by the job."""

    def __init__(self, model_path: str, every: int, detector_overrides: dict[str, Any]):
        from fer_core.inference.predictor import Predictor

        self.predictor = Predictor.load(model_path)
        self.every, self.detector_overrides = every, detector_overrides

    def __call__(self, batch: Batch) -> Batch:
        from fer_core.inference.video import VideoJob, run_video_job

        summaries = []
        for path, out, csv_path in zip(batch["input"], batch["out"], batch["csv"], strict=True):
            job = VideoJob(str(path), str(out) or None, str(csv_path) or None)
            summaries.append(pickle.dumps(run_video_job(job, self.every, None, self.detector_overrides,
                                                        predictor=self.predictor)))
        return {"index": np.asarray(batch["index"]), "summary": np.array(summaries, dtype=object)}


def process_videos_on_ray(jobs: Sequence[VideoJob], model: str | os.PathLike[str] | None = None, every: int = 1,
                          detector_overrides: dict[str, Any] | None = None, address: str | None = None,
                          workers: int | None = None) -> list[VideoSummary]:
    """The video jobs spread over the cluster, one video per task (tracking needs a video's frames in order); the
    summaries come back in the jobs' order. Ray Data restarts a dead actor and retries its work (max_restarts=-1 and
    max_task_retries=-1 are its defaults for actor pools)."""
    import ray

    connect(address)
    model_path = str(Path(model or registry.default_model_path()).resolve())
    items = [{"index": i, "input": str(Path(job.input).resolve()), "out": str(Path(job.out).resolve()) if job.out
              else "", "csv": str(Path(job.csv).resolve()) if job.csv else ""} for i, job in enumerate(jobs)]
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    results = dataset.map_batches(
        _VideoWorker, fn_constructor_kwargs={"model_path": model_path, "every": every,
                                             "detector_overrides": detector_overrides or {}},
        batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(len(items), workers or cluster_cpus())),
        num_cpus=1)
    return _gather(results, "summary", [job.input for job in jobs])
