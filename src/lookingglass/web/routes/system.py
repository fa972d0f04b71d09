"""The installation itself: health (public, says little to strangers), queue stats (admin), bucket notifications
(their own shared token)."""

from __future__ import annotations

import hmac

from flask import jsonify, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from lookingglass.errors import BadInput, Unauthorized, Unavailable
from lookingglass.services import Record
from lookingglass.services.system import (
    BucketEvents,
    Health,
    JobRemoved,
    JobRequest,
    JobRetried,
    QueueStats,
    bucket_events,
    health,
    queue_stats,
    remove_job,
    retry_job,
)
from lookingglass.web.routes import answer, caller, the_app

system = APIBlueprint("system", __name__, abp_tags=[Tag(name="operations")])


@system.get("/health", operation_id="health", responses={200: Health, 503: Health})
def health_route():
    """Each backend's status and latency; 503 when one is down. Without credentials: only `ok`."""
    result = health(the_app(), caller())
    return jsonify(result.model_dump(mode="json", exclude_none=True)), 200 if result.ok else 503


@system.get("/queue/stats", operation_id="queue_stats", responses={200: QueueStats})
def queue_stats_route():
    """Queues, workers and the latest failures with their reasons (admin)."""
    return answer(queue_stats(the_app(), caller()))


@system.post("/queue/failed/<job_id>/retry", operation_id="retry_job", responses={200: JobRetried})
def retry_job_route(path: JobRequest):
    """Run a failed job again, same function and arguments (admin; audited)."""
    return answer(retry_job(the_app(), caller(), job_id=path.job_id))


@system.delete("/queue/failed/<job_id>", operation_id="remove_job", responses={200: JobRemoved})
def remove_job_route(path: JobRequest):
    """Drop a failed job's record (admin; audited)."""
    return answer(remove_job(the_app(), caller(), job_id=path.job_id))


class EventsToken(Record):
    token: str | None = Field(None, max_length=1000, description="LG_EVENTS_TOKEN (targets without headers)")


NOTIFICATION = {
    "required": True,
    "description": "an S3 event notification as MinIO or Ceph RGW sends it (`Records`, or a test event)",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


@system.post(
    "/events/minio",
    operation_id="bucket_events",
    responses={200: BucketEvents},
    openapi_extensions={"requestBody": NOTIFICATION},
)
def bucket_events_route(query: EventsToken):
    """S3 bucket notifications (its own token: Bearer LG_EVENTS_TOKEN or ?token=).

    MinIO webhook targets and Ceph RGW push endpoints. The route is public: the token is checked here, before the
    body is read."""
    app = the_app()
    expected = app.settings.events_token
    if not expected:
        raise Unavailable(
            "bucket notifications are off: set LG_EVENTS_TOKEN (and the same token in the bucket's target)"
        )
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or query.token or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("wrong or missing events token")
    document = request.get_json(force=True, silent=True)
    if document is None:
        raise BadInput("the notification body must be JSON")
    return jsonify(bucket_events(app, caller(), document).model_dump(mode="json", exclude_none=True))  # job or skipped
