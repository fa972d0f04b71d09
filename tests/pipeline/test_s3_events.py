"""Bucket notifications from a real S3 server: S3 put/delete → RGW push → `POST /events/minio` → faces in/out.

Runs when `S3_ENDPOINT` (+ `S3_ACCESS_KEY`/`S3_SECRET_KEY`) names a Ceph RGW, e.g. the throwaway one from
`deploy/ceph/rgw.sh start && eval "$(deploy/ceph/rgw.sh env)"`; skipped, with the reason, otherwise. Each test gets
its own bucket, SNS topic and `lookingglass serve` (objects on S3, vectors embedded in a temp data dir, no Redis:
the in-process queue runs the jobs) and removes them afterwards.

RGW's HTTP push cannot send an Authorization header, so the token rides in the push endpoint's query string.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

import waiting
from lookingglass.settings import Settings
from lookingglass.sources.events import parse_events
from lookingglass.stores.objects import S3ObjectStore, open_object_store
from lookingglass.stores.ownership import read_server_info

ENDPOINT = os.environ.get("S3_ENDPOINT") or ""
ACCESS_KEY = os.environ.get("S3_ACCESS_KEY") or ""
SECRET_KEY = os.environ.get("S3_SECRET_KEY") or ""
REGION = os.environ.get("S3_REGION") or "us-east-1"
TOKEN = "secret"
TIMEOUT = float(os.environ.get("LG_S3_EVENTS_TIMEOUT") or 120)  # seconds for a notification to have its effect
# Variables of the developer's shell that would send serve to other backends than this test's.
FOREIGN_ENV = (
    "REDIS_URL",
    "QDRANT_URL",
    "QDRANT_HOST",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "MINIO_SECURE",
    "MINIO_REGION",
    "AWS_REGION",
    "LG_EMBEDDER",
    "LG_MATCH_THRESHOLD",
    "LG_EVENT_PREFIXES",
)

needs_s3 = pytest.mark.skipif(
    not (ENDPOINT and ACCESS_KEY and SECRET_KEY),
    reason="S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY not set: no S3 server with bucket notifications "
    '(deploy/ceph/rgw.sh start; eval "$(deploy/ceph/rgw.sh env)")',
)

OBAMA = "face_recognition_ageitgey/tests/test_images/obama.jpg"
OBAMA_QUERY = "face_recognition_ageitgey/tests/test_images/obama2.jpg"
BIDEN = "face_recognition_ageitgey/tests/test_images/biden.jpg"
BIDEN_QUERY = "face_recognition_ageitgey/examples/knn_examples/train/biden/biden2.jpg"


# ---------------------------------------------------------------------------------------------------------------
# Always: RGW's event document as it arrives (recorded from Ceph 16.2.15 radosgw, trimmed).


def _rgw_record(name: str, key: str, bucket: str = "lookingglass") -> dict:
    return {
        "eventVersion": "2.2",
        "eventSource": "ceph:s3",
        "awsRegion": "",
        "eventName": name,
        "userIdentity": {"principalId": "lgtest"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "lookingglass",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "lgtest"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 1, "eTag": "9dd4e461268c8034f5c8564e155c67a6", "versionId": ""},
        },
        "eventId": "1795637571.429833.9dd4e461268c8034f5c8564e155c67a6",
        "opaqueData": "",
    }


def test_rgw_records_keep_their_raw_keys() -> None:
    """RGW sends keys as they are (no URL encoding): a `+` or `%41` in a key is part of the name."""
    doc = {
        "Records": [
            _rgw_record("ObjectCreated:Put", "incoming/a b+c%41.jpg"),
            _rgw_record("ObjectRemoved:Delete", "incoming/a b+c%41.jpg"),
        ]
    }

    events = parse_events(doc)

    assert [(e.action, e.key, e.bucket) for e in events] == [
        ("created", "incoming/a b+c%41.jpg", "lookingglass"),
        ("removed", "incoming/a b+c%41.jpg", "lookingglass"),
    ]
    aws_style = {**_rgw_record("ObjectCreated:Put", "incoming/a+b%2Bc%2541.jpg"), "eventSource": "aws:s3"}
    assert parse_events({"Records": [aws_style]})[0].key == "incoming/a b+c%41.jpg"  # AWS and MinIO encode


# ---------------------------------------------------------------------------------------------------------------
# With a real RGW.


def _client(service: str):
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=config,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _drop_bucket(s3, bucket: str) -> None:
    with contextlib.suppress(Exception):
        s3.delete_bucket_notification_configuration(Bucket=bucket)  # RGW's extension; AWS: put an empty one
    with contextlib.suppress(s3.exceptions.NoSuchBucket):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


wait_for = functools.partial(waiting.wait_for, every=0.5)


class Serve:
    """`lookingglass serve` on a free port: objects in the test's bucket, vectors in a temp data dir."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "serve.log"
        self.data_dir = root / "data"
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
        self.env = {
            **env,
            "LG_DATA_DIR": str(self.data_dir),
            "MINIO_ENDPOINT": ENDPOINT,
            "MINIO_ACCESS_KEY": ACCESS_KEY,
            "MINIO_SECRET_KEY": SECRET_KEY,
            "MINIO_BUCKET": bucket,
            "LG_EVENTS_TOKEN": TOKEN,
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Serve:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lookingglass.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}")
            try:
                return requests.get(self.url + "/health", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        try:
            wait_for(healthy, timeout, "serve to answer /health")
        except AssertionError as exc:
            exc.add_note(self.logs())
            raise
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def logs(self, tail: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-tail:] if self.log.exists() else []
        return f"----- serve ({self.log}) -----\n" + "\n".join(lines)

    @property
    def headers(self) -> dict[str, str]:
        """The local token from server.json, as the CLI on this machine calls serve."""
        info = read_server_info(self.data_dir)
        assert info is not None, "serve is not running"
        return {"Authorization": f"Bearer {info.token}"}

    def matches(self, photo: bytes) -> list[dict]:
        files = {"image": ("query.jpg", photo)}
        response = requests.post(self.url + "/lookup", files=files, headers=self.headers, timeout=60)
        assert response.status_code == 200, response.text
        return [m for face in response.json()["faces"] for m in face["matches"]]

    def object(self, sha: str) -> dict | None:
        response = requests.get(f"{self.url}/objects/{sha}", headers=self.headers, timeout=30)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def bucket() -> Iterator[str]:
    s3 = _client("s3")
    name = f"lg-events-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    _drop_bucket(s3, name)


@pytest.fixture
def serve(tmp_path: Path, bucket: str) -> Iterator[Serve]:
    running = Serve(tmp_path, bucket)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _subscribe(bucket: str, url: str, *, persistent: bool) -> Callable[[], None]:
    """An SNS topic pushing to `url`, and the bucket's created/removed events sent to it. Returns the cleanup."""
    sns, s3 = _client("sns"), _client("s3")
    topic = sns.create_topic(
        Name=f"{bucket}-topic",
        Attributes={"push-endpoint": url, "persistent": "true" if persistent else "false"},
    )["TopicArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "Id": "lookingglass",
                    "TopicArn": topic,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )

    def unsubscribe() -> None:
        with contextlib.suppress(Exception):
            s3.delete_bucket_notification_configuration(Bucket=bucket)
        sns.delete_topic(TopicArn=topic)

    return unsubscribe


def _photo(faces_dir: Path, relative: str) -> bytes:
    path = faces_dir / relative
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path.read_bytes()


@needs_s3
@pytest.mark.parametrize("persistent", [False, True], ids=["push", "persistent"])
def test_objects_put_into_and_removed_from_the_bucket_are_indexed_and_forgotten_via_rgw_notifications(
    serve: Serve, bucket: str, faces_dir: Path, persistent: bool
) -> None:
    """The whole path with nobody calling the webhook by hand: S3 put/delete → RGW push → jobs → index."""
    obama, obama_query = _photo(faces_dir, OBAMA), _photo(faces_dir, OBAMA_QUERY)
    biden, biden_query = _photo(faces_dir, BIDEN), _photo(faces_dir, BIDEN_QUERY)
    assert serve.matches(obama_query) == [] and serve.matches(biden_query) == []
    unsubscribe = _subscribe(bucket, f"{serve.url}/events/minio?token={TOKEN}", persistent=persistent)
    s3 = _client("s3")
    # A space and a `+`: RGW sends keys raw, so neither may be URL-decoded on the way in.
    drops = {"incoming/obama one.jpg": obama, "incoming/biden+co.jpg": biden}
    try:
        for key, data in drops.items():
            s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")

        def indexed(query: bytes, key: str) -> list[dict]:
            return [m for m in serve.matches(query) if m["source_url"] == f"s3://{bucket}/{key}"]

        obama_match = wait_for(lambda: indexed(obama_query, "incoming/obama one.jpg"), TIMEOUT, "obama indexed")
        biden_match = wait_for(lambda: indexed(biden_query, "incoming/biden+co.jpg"), TIMEOUT, "biden indexed")
        obama_sha, biden_sha = hashlib.sha256(obama).hexdigest(), hashlib.sha256(biden).hexdigest()
        assert {m["sha256"] for m in obama_match} == {obama_sha}
        assert {m["sha256"] for m in biden_match} == {biden_sha}
        record = serve.object(obama_sha)
        assert record is not None
        assert record["metadata"]["source_urls"] == [f"s3://{bucket}/incoming/obama one.jpg"]
        stored = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert {f"media/{obama_sha[:2]}/{obama_sha}.jpg", f"media/{biden_sha[:2]}/{biden_sha}.jpg"} <= stored

        s3.delete_object(Bucket=bucket, Key="incoming/obama one.jpg")

        wait_for(lambda: not serve.matches(obama_query), TIMEOUT, "obama's faces to be forgotten")
        wait_for(lambda: serve.object(obama_sha) is None, TIMEOUT, "obama's object to be forgotten")
        stored = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert not any(obama_sha in key for key in stored)
        assert indexed(biden_query, "incoming/biden+co.jpg"), "the other object must stay"

        s3.delete_object(Bucket=bucket, Key="incoming/biden+co.jpg")

        wait_for(lambda: serve.object(biden_sha) is None, TIMEOUT, "biden's object to be forgotten")
        assert serve.matches(biden_query) == []
    except BaseException as exc:
        exc.add_note(serve.logs())
        raise
    finally:
        unsubscribe()


@needs_s3
def test_s3_adapter_from_env_reports_healthy_with_latency() -> None:
    bucket = f"lg-health-{uuid.uuid4().hex[:12]}"
    env = {
        "MINIO_ENDPOINT": ENDPOINT,
        "MINIO_ACCESS_KEY": ACCESS_KEY,
        "MINIO_SECRET_KEY": SECRET_KEY,
        "MINIO_BUCKET": bucket,
    }
    store = open_object_store(Settings.from_env(env))
    assert isinstance(store, S3ObjectStore)
    try:
        health = store.health()
        assert health["ok"] is True, health
        assert health["backend"] == "s3"
        assert health["endpoint"] == ENDPOINT
        assert health["bucket"] == bucket
        assert 0 <= health["latency_ms"] < 5000
    finally:
        _drop_bucket(store.client, bucket)
