"""One frozen, validated Settings object read from the environment. No other module reads os.environ.

Each field declares the environment variable(s) it comes from and what it accepts (`Env`), next to its type and
bounds; pydantic checks them all at once. A bad value is one line that names the variable, the value and what it
accepts (exit code 2 from the CLI), never a traceback. `lookingglass config` prints the effective values, secrets
masked.

Seed variable names (QDRANT_*, MINIO_*, REDIS_URL, NEO4J_*) select the server adapters; without them everything
runs embedded under LG_DATA_DIR.

Why plain pydantic and not pydantic-settings: `Settings(...)` must stay a pure constructor (tests and the worker
build settings from values, not from whatever the environment holds), several variables have two accepted names
(MINIO_* and S3_*), and a few are derived (NEO4J_HOST + NEO4J_PORT → one URI); a 30-line reader over the field
declarations does that with the same validation and our own one-line error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from lookingglass.errors import BadInput

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DEVICE = re.compile(r"auto|cpu|cuda(?::\d+)?")  # lookingglass.models.device.CHOICES
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Env:
    """Where a setting comes from: its variable names (the first is the documented one) and what it accepts."""

    names: tuple[str, ...]
    accepts: str
    secret: bool = False

    def __init__(self, *names: str, accepts: str, secret: bool = False) -> None:
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "accepts", accepts)
        object.__setattr__(self, "secret", secret)


PositiveInt = Annotated[int, Field(ge=1)]
Queue = Literal["faces", "video", "pages", "maintenance", "index"]  # pipeline/queue.py's QUEUE_NAMES
Port = Annotated[int, Field(ge=1, le=65535)]
Bytes = Annotated[int, Field(ge=1)]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    data_dir: Annotated[Path, Env("LG_DATA_DIR", accepts="a directory path")] = Path("data")
    model_dir: Annotated[Path | None, Env("LG_MODEL_DIR", accepts="a folder of model files with SHA256SUMS")] = None
    embedder: Annotated[Literal["sface", "dlib"], Env("LG_EMBEDDER", accepts="sface or dlib")] = "sface"
    detector_threshold: Annotated[
        float, Field(ge=0, le=1), Env("LG_DETECTOR_THRESHOLD", accepts="a number from 0 to 1")
    ] = 0.5
    detect_pad: Annotated[  # border around the analysed photo so faces cut by its edge are found (vision/tiling.py)
        float, Field(ge=0, le=0.5), Env("LG_DETECT_PAD", accepts="a fraction from 0 (off) to 0.5")
    ] = 0.12
    detect_tile_above: Annotated[  # photos longer than this are also searched in 640 px tiles for small faces
        int, Field(ge=0, le=100_000), Env("LG_DETECT_TILE_ABOVE", accepts="0 (off) or pixels from 640 to 100000")
    ] = 1600
    match_threshold: Annotated[  # None: the embedder's calibrated default
        float | None, Field(ge=-1, le=1), Env("LG_MATCH_THRESHOLD", accepts="a cosine similarity from -1 to 1")
    ] = None
    top_k: Annotated[int, Field(ge=1, le=1000), Env("LG_TOP_K", accepts="a whole number from 1 to 1000")] = 10
    max_image_pixels: Annotated[
        int, Field(ge=1), Env("LG_MAX_IMAGE_PIXELS", accepts="a whole number of pixels, at least 1")
    ] = 50_000_000
    max_upload_bytes: Annotated[Bytes, Env("LG_MAX_UPLOAD_BYTES", accepts="a whole number of bytes")] = 64 * 1024**2
    # Qdrant server (distributed); embedded qdrant-edge when neither is set.
    qdrant_url: Annotated[str | None, Env("QDRANT_URL", accepts="an http(s) URL")] = None
    qdrant_host: Annotated[str | None, Env("QDRANT_HOST", accepts="a host name")] = None
    qdrant_port: Annotated[Port, Env("QDRANT_PORT", accepts="a port number")] = 6333
    qdrant_api_key: Annotated[str | None, Env("QDRANT_API_KEY", accepts="an API key", secret=True)] = None
    # How a NEW face collection is made (existing ones keep theirs; `lookingglass rebuild-index` remakes them).
    vector_quantization: Annotated[  # int8: 1-byte codes in RAM, float originals on disk for rescoring
        Literal["none", "int8"], Env("LG_VECTOR_QUANTIZATION", accepts="none or int8")
    ] = "none"
    qdrant_shards: Annotated[  # Qdrant server only: shard_number
        int, Field(ge=1, le=1024), Env("LG_QDRANT_SHARDS", accepts="a whole number of shards from 1 to 1024")
    ] = 1
    qdrant_replicas: Annotated[  # Qdrant server only: replication_factor
        int, Field(ge=1, le=64), Env("LG_QDRANT_REPLICAS", accepts="a whole number of copies from 1 to 64")
    ] = 1
    qdrant_write_consistency: Annotated[  # Qdrant server only: write_consistency_factor, at most the replicas
        int, Field(ge=1, le=64), Env("LG_QDRANT_WRITE_CONSISTENCY", accepts="a whole number from 1 to the replicas")
    ] = 1
    # S3 / MinIO object store (distributed); a local directory when no endpoint is set.
    s3_endpoint: Annotated[str | None, Env("MINIO_ENDPOINT", "S3_ENDPOINT", accepts="host:port or a URL")] = None
    s3_access_key: Annotated[
        str | None,
        Env("MINIO_ACCESS_KEY", "MINIO_ROOT_USER", "AWS_ACCESS_KEY_ID", "S3_ACCESS_KEY", accepts="an access key"),
    ] = None
    s3_secret_key: Annotated[
        str | None,
        Env(
            "MINIO_SECRET_KEY",
            "MINIO_ROOT_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "S3_SECRET_KEY",
            accepts="a secret key",
            secret=True,
        ),
    ] = None
    s3_bucket: Annotated[str, Env("MINIO_BUCKET", "S3_BUCKET", accepts="a bucket name")] = "lookingglass"
    s3_region: Annotated[str, Env("MINIO_REGION", "AWS_REGION", accepts="a region name")] = "us-east-1"
    s3_secure: Annotated[bool, Env("MINIO_SECURE", accepts="true or false")] = False
    # Video and speech
    video_fps: Annotated[  # frames sampled per second (plus scene cuts)
        float, Field(gt=0, le=60), Env("LG_VIDEO_FPS", accepts="frames per second, above 0 and at most 60")
    ] = 3.0
    whisper_model: Annotated[  # None: the pinned Whisper tiny.en
        Path | None, Env("LG_WHISPER_MODEL", accepts="a faster-whisper model folder")
    ] = None
    # Execution device: where the models run (lookingglass.models.device)
    device: Annotated[  # auto: a usable GPU, else the CPU (lookingglass.models.device)
        str,
        Env("LG_DEVICE", accepts="auto, cpu, cuda or cuda:N (N counts the GPUs CUDA_VISIBLE_DEVICES leaves visible)"),
    ] = "auto"
    cuda_visible_devices: Annotated[  # read by CUDA itself; an empty value hides every GPU
        str | None, Env("CUDA_VISIBLE_DEVICES", accepts="GPU indexes or UUIDs, comma-separated; empty for none")
    ] = None
    # Queue: Redis + RQ workers when set; an in-process thread pool otherwise.
    redis_url: Annotated[str | None, Env("REDIS_URL", accepts="a redis:// URL", secret=True)] = None
    inline_workers: Annotated[
        int, Field(ge=1, le=64), Env("LG_INLINE_WORKERS", accepts="a whole number from 1 to 64")
    ] = 2
    job_nice: Annotated[  # the in-process pool's threads yield the CPU to requests (lookups) on a busy machine
        int, Field(ge=0, le=19), Env("LG_JOB_NICE", accepts="a nice value from 0 (off) to 19 for background jobs")
    ] = 0  # 10 measured: lookups p50 better, p95 not, ingest 2.5x slower (bench/lookup_under_load.py)
    # Job budgets per queue over pipeline/queue.py's defaults: LG_JOB_TIMEOUT_PAGES=300, LG_JOB_MEMORY_MB_PAGES=1024
    job_timeouts: Annotated[
        dict[Queue, Annotated[int, Field(ge=1)]],
        Env("LG_JOB_TIMEOUT_<QUEUE>", accepts="whole seconds, at least 1, for a queue (faces, video, pages, ...)"),
    ] = {}
    job_memory_mb: Annotated[
        dict[Queue, Annotated[int, Field(ge=16)]],
        Env("LG_JOB_MEMORY_MB_<QUEUE>", accepts="whole megabytes, at least 16, for a queue (faces, video, ...)"),
    ] = {}
    # Bucket notifications: the shared secret `POST /events/minio` requires (Authorization: Bearer ...).
    events_token: Annotated[
        str | None, Env("LG_EVENTS_TOKEN", "MINIO_WEBHOOK_TOKEN", accepts="a shared secret", secret=True)
    ] = None
    # Serving
    host: Annotated[str, Env("LG_HOST", accepts="an address to listen on")] = "127.0.0.1"
    port: Annotated[Port, Env("LG_PORT", accepts="a port number from 1 to 65535")] = 5000
    optimize_threshold: Annotated[  # unindexed points before the owner rebuilds the HNSW index
        PositiveInt, Env("LG_OPTIMIZE_THRESHOLD", accepts="a whole number of points, at least 1")
    ] = 20_000
    # Knowledge graph: Neo4j (or any Bolt server) when set; a SQLite file under LG_DATA_DIR otherwise.
    neo4j_uri: Annotated[  # or bolt://NEO4J_HOST:NEO4J_PORT
        str | None, Env("NEO4J_URI", accepts="a bolt:// or neo4j:// URI (or NEO4J_HOST and NEO4J_PORT)")
    ] = None
    neo4j_auth: Annotated[  # the Neo4j image's "user/password" (or NEO4J_USER and NEO4J_PASSWORD)
        tuple[str, str] | None, Env("NEO4J_AUTH", accepts="user/password, or none", secret=True)
    ] = None
    neo4j_database: Annotated[str | None, Env("NEO4J_DATABASE", accepts="a database name")] = None
    entity_patterns: Annotated[
        Path | None, Env("LG_ENTITY_PATTERNS", accepts="a JSONL file of extra entity-ruler patterns")
    ] = None
    # Crawler: it says who it is and obeys robots.txt; no evasion of any kind.
    crawl_start_url: Annotated[str | None, Env("START_URL", accepts="an http(s) URL")] = None
    crawl_mode: Annotated[Literal["image", "page", "all"], Env("CRAWL_MODE", accepts="image, page or all")] = "all"
    crawl_contact: Annotated[  # named in the User-Agent
        str, Env("LG_CRAWL_CONTACT", accepts="a URL or e-mail address site owners can reach you at")
    ] = "https://github.com/lookingglass/lookingglass#crawler"
    crawl_allow_private: Annotated[  # hosts or CIDRs the crawler may reach although private/loopback
        tuple[str, ...], Env("LG_CRAWL_ALLOW_PRIVATE", accepts="a comma-separated list of hosts or CIDRs")
    ] = ()
    crawl_proxy: Annotated[  # one egress proxy for all crawl traffic
        str | None, Env("LG_CRAWL_PROXY", accepts="http://host:port", secret=True)
    ] = None
    crawl_max_pages: Annotated[PositiveInt, Env("LG_CRAWL_MAX_PAGES", accepts="a whole number, at least 1")] = 1000
    crawl_max_bytes: Annotated[  # the whole crawl's download budget
        Bytes, Env("LG_CRAWL_MAX_BYTES", accepts="a whole number of bytes")
    ] = 2 * 1024**3
    crawl_max_object_bytes: Annotated[  # one image/video/page; larger ones are skipped
        Bytes, Env("LG_CRAWL_MAX_OBJECT_BYTES", accepts="a whole number of bytes")
    ] = 25 * 1024**2
    crawl_delay: Annotated[  # seconds between requests to one host (robots.txt Crawl-delay wins when larger)
        float, Field(ge=0, le=3600), Env("LG_CRAWL_DELAY", accepts="seconds from 0 to 3600")
    ] = 1.0
    chromium: Annotated[Path, Env("LG_CHROMIUM", accepts="the path of a Chromium binary")] = Path("/usr/bin/chromium")
    # Access control
    admin_password: Annotated[  # for the first admin
        str | None, Field(repr=False), Env("LG_ADMIN_PASSWORD", accepts="a password", secret=True)
    ] = None
    lookup_rate: Annotated[  # POST /lookup per principal
        str, Env("LG_LOOKUP_RATE", accepts="N/second|minute|hour|day (like 60/minute), or off")
    ] = "60/minute"
    secure_cookies: Annotated[  # Secure cookies and HSTS also over plain HTTP (behind a TLS proxy)
        bool, Env("LG_SECURE_COOKIES", accepts="true or false")
    ] = False

    @field_validator("embedder", "crawl_mode", "vector_quantization", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("detect_tile_above")
    @classmethod
    def _tile_above(cls, value: int) -> int:
        if 0 < value < 640:  # a photo no longer than one tile is the full-frame view again
            raise ValueError("below one tile")
        return value

    @field_validator("lookup_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip().lower() in ("off", "none", "0"):
            return value
        match = _RATE.fullmatch(value)
        if not match or int(match.group(1)) < 1:
            raise ValueError("not a rate")
        return value

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        if isinstance(value, str) and _DEVICE.fullmatch(value.strip().lower()):
            return value.strip().lower()
        raise ValueError("not a device")

    @property
    def distributed_vectors(self) -> bool:
        return bool(self.qdrant_url or self.qdrant_host)

    @property
    def distributed_objects(self) -> bool:
        return bool(self.s3_endpoint)

    @property
    def distributed_graph(self) -> bool:
        return bool(self.neo4j_uri)

    @property
    def embedded_stores(self) -> bool:
        """Whether some store lives in LG_DATA_DIR, so one owner process must do all writes (docs/architecture.md)."""
        return not (self.distributed_vectors and self.distributed_objects)

    @field_validator("qdrant_write_consistency")
    @classmethod
    def _consistency(cls, value: int, info: ValidationInfo) -> int:
        if value > info.data.get("qdrant_replicas", 1):  # Qdrant would refuse every write
            raise ValueError("more acknowledgements than copies")
        return value

    def with_(self, **changes) -> Settings:
        """A copy with some values changed, validated like the original."""
        values = {**self.model_dump(), **changes}
        try:
            return type(self).model_validate(values)
        except ValidationError as exc:
            raise BadInput(_one_line(exc, values, {})) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting from the environment, checked; a bad value raises BadInput naming the variable."""
        e = os.environ if env is None else env
        raw: dict[str, Any] = {}
        used: dict[str, str] = {}  # field → the variable its value came from
        for name, env_of in _ENV.items():
            for variable in env_of.names:
                value = e.get(variable)
                if value is not None and value.strip() != "":
                    raw[name], used[name] = value.strip(), variable
                    break
        _derive(raw, used, e)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise BadInput(_one_line(exc, raw, used)) from None

    def effective(self) -> list[tuple[str, str, str]]:
        """(variable, value, what it accepts) for every setting, secrets masked: `lookingglass config`."""
        return [
            (env_of.names[0], _masked(name, getattr(self, name), env_of.secret), env_of.accepts)
            for name, env_of in _ENV.items()
        ]


_ENV: dict[str, Env] = {
    name: next(m for m in info.metadata if isinstance(m, Env)) for name, info in Settings.model_fields.items()
}


def _derive(raw: dict[str, Any], used: dict[str, str], e: Mapping[str, str]) -> None:
    """The few settings that are spelled in other shapes: booleans, lists, MinIO's endpoint, Neo4j's address."""
    for name in ("s3_secure", "secure_cookies"):
        if name in raw:
            text = raw[name].lower()
            raw[name] = True if text in _TRUE else False if text in _FALSE else raw[name]
    if "cuda_visible_devices" not in raw and "CUDA_VISIBLE_DEVICES" in e:  # set to nothing: no GPU, not "unset"
        raw["cuda_visible_devices"], used["cuda_visible_devices"] = "", "CUDA_VISIBLE_DEVICES"
    for name in ("job_timeouts", "job_memory_mb"):  # one variable per queue: LG_JOB_TIMEOUT_PAGES=300
        prefix = _ENV[name].names[0].removesuffix("<QUEUE>")
        per_queue = {k[len(prefix) :].lower(): v.strip() for k, v in e.items() if k.startswith(prefix) and v.strip()}
        if per_queue:
            raw[name], used[name] = per_queue, prefix
    if "crawl_allow_private" in raw:
        raw["crawl_allow_private"] = tuple(p.strip() for p in raw["crawl_allow_private"].split(",") if p.strip())
    endpoint = raw.get("s3_endpoint")
    if endpoint and "://" not in endpoint:
        raw["s3_endpoint"] = ("https://" if raw.get("s3_secure") is True else "http://") + endpoint
    if "neo4j_uri" not in raw and (e.get("NEO4J_HOST") or "").strip():
        raw["neo4j_uri"] = f"bolt://{e['NEO4J_HOST'].strip()}:{(e.get('NEO4J_PORT') or '7687').strip()}"
        used["neo4j_uri"] = "NEO4J_HOST"
    auth = raw.pop("neo4j_auth", None)
    if auth is not None and auth.lower() != "none":
        user, sep, password = auth.partition("/")
        raw["neo4j_auth"] = (user, password) if sep and user else auth
    elif auth is None and (e.get("NEO4J_USER") or "").strip():
        raw["neo4j_auth"] = (e["NEO4J_USER"].strip(), e.get("NEO4J_PASSWORD") or "")
        used["neo4j_auth"] = "NEO4J_USER"


def _one_line(exc: ValidationError, raw: dict[str, Any], used: dict[str, str]) -> str:
    """The first bad value as one line: the variable, what it was given, what it accepts."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    env_of = _ENV.get(name)
    if env_of is None:
        return f"bad setting: {error['msg']}"
    variable = used.get(name, env_of.names[0])
    value = raw.get(name, "")
    if isinstance(value, dict) and len(error["loc"]) > 1:  # one of a per-queue family: name that variable
        key = str(error["loc"][1])
        variable, value = variable + key.upper(), value.get(key, "")
    given = "***" if env_of.secret else repr(str(value))
    more = f" ({len(exc.errors()) - 1} more bad settings)" if len(exc.errors()) > 1 else ""
    return f"{variable}={given} is not valid: expected {env_of.accepts}{more}"


def _masked(name: str, value: Any, secret: bool) -> str:
    if value is None:
        return ""
    if name == "neo4j_auth":
        return f"{value[0]}/***"
    if name in ("redis_url", "crawl_proxy"):  # the address is useful; only a password in it is secret
        parts = urlsplit(str(value))
        if parts.password:
            host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
            return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
        return str(value)
    if secret:
        return "***"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
