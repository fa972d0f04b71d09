"""Dotted names of jobs that an older version may have left waiting in Redis, and the job each one is now.

RQ stores a job as the dotted name of its function (queue.run_job resolves it when a worker picks the job up), so
an upgrade with jobs still queued would otherwise fail them; erasures (`forget_object`, `forget_key`) in particular
are not redone by reconcile. Remove an entry once no queue can hold it.
"""

RENAMED_JOBS = {
    "lookingglass.pipeline.jobs.process_object": "lookingglass.pipeline.images.process_image",
    "lookingglass.pipeline.jobs.process_media": "lookingglass.pipeline.videos.process_video",
    "lookingglass.pipeline.jobs.store_faces": "lookingglass.pipeline.index.store_faces",
    "lookingglass.pipeline.jobs.forget_object": "lookingglass.pipeline.forget.forget_object",
    "lookingglass.pipeline.jobs.ingest_key": "lookingglass.pipeline.bucket.ingest_key",
    "lookingglass.pipeline.jobs.forget_key": "lookingglass.pipeline.bucket.forget_key",
    "lookingglass.pipeline.jobs.reconcile": "lookingglass.pipeline.reconcile.reconcile",
    "lookingglass.pipeline.graph_jobs.process_page": "lookingglass.pipeline.graph.process_page",
    "lookingglass.pipeline.graph_jobs.process_transcript": "lookingglass.pipeline.graph.process_transcript",
    "lookingglass.pipeline.graph_jobs.store_graph": "lookingglass.pipeline.graph.store_graph",
    "lookingglass.pipeline.graph_jobs.run_analytics": "lookingglass.pipeline.graph.analyse_graph",
}
