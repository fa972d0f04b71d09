"""Bucket notifications: MinIO/Ceph S3 event documents in, processing and cleanup jobs out.

Documents below follow what MinIO sends to a webhook target (a batch under `Records`, URL-encoded keys, and its
extra top-level `EventName`/`Key`) and the test event a target receives when it is configured.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest

from lookingglass.errors import BadInput
from lookingglass.pipeline.submit import store_bytes
from lookingglass.sources.events import ObjectEvent, parse_events
from lookingglass.web import create_app


def record(name: str, key: str, bucket: str = "lookingglass") -> dict:
    return {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": {"key": key, "size": 1}},
    }


def minio_doc(*records: dict) -> dict:
    first = records[0]
    return {
        "EventName": first["eventName"],
        "Key": f"{first['s3']['bucket']['name']}/{first['s3']['object']['key']}",
        "Records": list(records),
    }


def test_a_batch_becomes_one_event_per_record_with_keys_decoded():
    doc = minio_doc(
        record("s3:ObjectCreated:Put", "incoming/holiday+photos/caf%C3%A9.jpg"),
        record("s3:ObjectRemoved:Delete", "media/ab/" + "ab" * 32 + ".jpg"),
        record("s3:ObjectCreated:CompleteMultipartUpload", "incoming/a%2Fb.png"),
    )

    assert parse_events(doc) == [
        ObjectEvent("created", "lookingglass", "incoming/holiday photos/café.jpg", "s3:ObjectCreated:Put"),
        ObjectEvent("removed", "lookingglass", "media/ab/" + "ab" * 32 + ".jpg", "s3:ObjectRemoved:Delete"),
        ObjectEvent("created", "lookingglass", "incoming/a/b.png", "s3:ObjectCreated:CompleteMultipartUpload"),
    ]


def test_test_events_and_other_event_kinds_are_accepted_and_ignored():
    assert parse_events({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "lookingglass"}) == []
    assert parse_events({"Records": [{"eventName": "s3:ObjectAccessed:Get", "s3": {}}]}) == []
    assert parse_events({"Records": []}) == []


@pytest.mark.parametrize(
    "doc", [[], "text", {"Records": "x"}, {"Records": [1]}, {"Records": [record("s3:ObjectCreated:Put", "")]}, {}]
)
def test_malformed_notifications_are_bad_input(doc):
    with pytest.raises(BadInput):
        parse_events(doc)


@pytest.fixture
def events_client(app):
    app.settings = app.settings.with_(events_token="s3cret")
    return create_app(app).test_client()


def post(client, doc, token="s3cret"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/events/minio", json=doc, headers=headers)


def test_the_webhook_needs_the_shared_token(events_client):
    doc = minio_doc(record("s3:ObjectCreated:Put", "incoming/x.jpg"))

    assert post(events_client, doc, token=None).status_code == 401
    assert post(events_client, doc, token="wrong").status_code == 401


def test_the_webhook_is_off_without_a_configured_token(app):
    response = create_app(app).test_client().post("/events/minio", json={"Records": []})

    assert response.status_code == 503
    assert "LG_EVENTS_TOKEN" in response.get_json()["error"]["message"]


def test_a_created_event_for_a_stored_object_processes_it_once(app, events_client, test_images):
    data = (test_images / "obama.jpg").read_bytes()
    obj = store_bytes(app, data, filename="obama.jpg")
    doc = minio_doc(record("s3:ObjectCreated:Put", obj.key))

    first = post(events_client, doc).get_json()["events"]
    app.queue.drain()  # the inline queue finishes what it was given
    again = post(events_client, doc).get_json()["events"]

    assert "job" in first[0]
    assert again[0]["skipped"] == "already processed"  # our own writes notify us too
    assert app.faces.count({"sha256": obj.sha256}) == 1


def test_a_file_dropped_into_the_store_is_ingested_then_forgotten_when_removed(app, events_client, test_images):
    dropped = app.settings.data_dir / "objects" / "incoming" / "new photo.jpg"
    dropped.parent.mkdir(parents=True)
    shutil.copy(test_images / "biden.jpg", dropped)
    sha = hashlib.sha256(dropped.read_bytes()).hexdigest()

    post(events_client, minio_doc(record("s3:ObjectCreated:Put", "incoming/new+photo.jpg")))
    app.queue.drain()

    assert app.faces.count({"sha256": sha}) == 1
    assert app.objects.get(sha).metadata["source_urls"] == [dropped.resolve().as_uri()]

    dropped.unlink()
    post(events_client, minio_doc(record("s3:ObjectRemoved:Delete", "incoming/new+photo.jpg")))
    app.queue.drain()

    assert app.faces.count({"sha256": sha}) == 0
    assert not app.objects.exists(sha)


def test_removed_before_created_leaves_nothing_behind(app, events_client, test_images):
    data = (test_images / "obama2.jpg").read_bytes()
    obj = store_bytes(app, data, filename="obama2.jpg")
    app.objects.delete(obj.sha256)  # the object is gone from the bucket ...

    removed = post(events_client, minio_doc(record("s3:ObjectRemoved:Delete", obj.key)))  # ... events reversed
    created = post(events_client, minio_doc(record("s3:ObjectCreated:Put", obj.key)))
    app.queue.drain()

    assert removed.status_code == created.status_code == 200
    assert app.faces.count({"sha256": obj.sha256}) == 0
    assert not app.objects.exists(obj.sha256)


def test_events_for_other_buckets_and_our_bookkeeping_are_skipped(events_client):
    doc = minio_doc(
        record("s3:ObjectCreated:Put", "incoming/x.jpg", bucket="someone-else"),
        record("s3:ObjectCreated:Put", "meta/ab/" + "ab" * 32 + ".json"),
    )

    events = post(events_client, doc).get_json()["events"]

    assert [e["skipped"] for e in events] == ["bucket someone-else is not ours", "bookkeeping key"]
