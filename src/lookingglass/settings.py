"""One frozen Settings object read from the environment. No other module reads os.environ.

Seed variable names (QDRANT_*, MINIO_*, REDIS_URL, NEO4J_*) select the server adapters; without them everything
runs embedded under LG_DATA_DIR.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _per_queue(env: Mapping[str, str], prefix: str) -> dict[str, int]:
    """{queue: value} from variables `<prefix><QUEUE>` (LG_JOB_TIMEOUT_PAGES=300 → {"pages": 300})."""
    return {name[len(prefix) :].lower(): int(value) for name, value in env.items() if name.startswith(prefix) and value}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    model_dir: Path | None = None
    embedder: str = "sface"  # "sface" | "dlib"
    detector_threshold: float = 0.5
    match_threshold: float | None = None  # None: the embedder's calibrated default
    top_k: int = 10
    max_image_pixels: int = 50_000_000
    max_upload_bytes: int = 64 * 1024 * 1024
    # Qdrant server (distributed); embedded qdrant-edge when neither is set.
    qdrant_url: str | None = None
    qdrant_host: str | None = None
    qdrant_port: int = 6333
    qdrant_api_key: str | None = None
    # S3 / MinIO object store (distributed); a local directory when no endpoint is set.
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "lookingglass"
    s3_region: str = "us-east-1"
    s3_secure: bool = False
    # Video and speech
    video_fps: float = 3.0  # frames sampled per second (plus scene cuts)
    whisper_model: Path | None = None  # a faster-whisper model folder; None: the pinned Whisper tiny.en
    # Queue: Redis + RQ workers when set; an in-process thread pool otherwise.
    redis_url: str | None = None
    inline_workers: int = 2
    # Job budgets per queue over pipeline/queue.py's defaults: LG_JOB_TIMEOUT_PAGES=300, LG_JOB_MEMORY_MB_PAGES=1024
    job_timeouts: dict[str, int] = field(default_factory=dict)
    job_memory_mb: dict[str, int] = field(default_factory=dict)
    # Bucket notifications: the shared secret `POST /events/minio` requires (Authorization: Bearer ...).
    events_token: str | None = None
    # Serving
    host: str = "127.0.0.1"
    port: int = 5000
    optimize_threshold: int = 20_000  # unindexed points before the owner rebuilds the HNSW index
    # Knowledge graph: Neo4j (or any Bolt server) when set; a SQLite file under LG_DATA_DIR otherwise.
    neo4j_uri: str | None = None  # NEO4J_URI, or bolt://NEO4J_HOST:NEO4J_PORT
    neo4j_auth: tuple[str, str] | None = None  # NEO4J_AUTH "user/password" (the Neo4j image's format)
    neo4j_database: str | None = None
    entity_patterns: Path | None = None  # LG_ENTITY_PATTERNS: extra entity-ruler patterns (JSONL)
    # Crawler (DEVELOPERS.md: it says who it is and obeys robots.txt; no evasion of any kind)
    crawl_start_url: str | None = None  # START_URL (the seed's name), used when `lookingglass crawl` gets no URL
    crawl_mode: str = "all"  # CRAWL_MODE: image | page | all
    crawl_contact: str = "https://github.com/lookingglass/lookingglass#crawler"  # named in the User-Agent
    crawl_allow_private: tuple[str, ...] = ()  # hosts or CIDRs the crawler may reach although private/loopback
    crawl_proxy: str | None = None  # one egress proxy for all crawl traffic (http://host:port)
    crawl_max_pages: int = 1000
    crawl_max_bytes: int = 2 * 1024**3  # the whole crawl's download budget
    crawl_max_object_bytes: int = 25 * 1024 * 1024  # one image/video/page; larger ones are skipped
    crawl_delay: float = 1.0  # seconds between requests to one host (robots.txt Crawl-delay wins when larger)
    chromium: Path = Path("/usr/bin/chromium")  # Debian's Chromium, for pages that need JavaScript
    # Access control (issue 7)
    admin_password: str | None = field(default=None, repr=False)  # LG_ADMIN_PASSWORD: for the first admin
    lookup_rate: str = "60/minute"  # LG_LOOKUP_RATE: POST /lookup per principal ("off" for none)
    secure_cookies: bool = False  # LG_SECURE_COOKIES: Secure cookies and HSTS also over plain HTTP (TLS proxy)

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
        """Whether some store lives in LG_DATA_DIR, so one owner process must do all writes (DESIGN.md §7)."""
        return not (self.distributed_vectors and self.distributed_objects)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        minio_endpoint = e.get("MINIO_ENDPOINT") or e.get("S3_ENDPOINT")
        secure = _bool(e.get("MINIO_SECURE"), False)
        if minio_endpoint and "://" not in minio_endpoint:
            minio_endpoint = ("https://" if secure else "http://") + minio_endpoint
        threshold = e.get("LG_MATCH_THRESHOLD")
        neo4j_uri = e.get("NEO4J_URI") or None
        if not neo4j_uri and e.get("NEO4J_HOST"):
            neo4j_uri = f"bolt://{e['NEO4J_HOST']}:{e.get('NEO4J_PORT') or 7687}"
        neo4j_auth = None
        if e.get("NEO4J_AUTH") and e["NEO4J_AUTH"].lower() != "none":
            user, _, password = e["NEO4J_AUTH"].partition("/")
            neo4j_auth = (user, password)
        elif e.get("NEO4J_USER"):
            neo4j_auth = (e["NEO4J_USER"], e.get("NEO4J_PASSWORD") or "")
        return cls(
            data_dir=Path(e.get("LG_DATA_DIR") or "data"),
            model_dir=Path(e["LG_MODEL_DIR"]) if e.get("LG_MODEL_DIR") else None,
            embedder=(e.get("LG_EMBEDDER") or "sface").lower(),
            detector_threshold=float(e.get("LG_DETECTOR_THRESHOLD") or 0.5),
            match_threshold=float(threshold) if threshold else None,
            top_k=int(e.get("LG_TOP_K") or 10),
            max_image_pixels=int(e.get("LG_MAX_IMAGE_PIXELS") or 50_000_000),
            max_upload_bytes=int(e.get("LG_MAX_UPLOAD_BYTES") or 64 * 1024 * 1024),
            qdrant_url=e.get("QDRANT_URL") or None,
            qdrant_host=e.get("QDRANT_HOST") or None,
            qdrant_port=int(e.get("QDRANT_PORT") or 6333),
            qdrant_api_key=e.get("QDRANT_API_KEY") or None,
            s3_endpoint=minio_endpoint or None,
            s3_access_key=e.get("MINIO_ACCESS_KEY") or e.get("MINIO_ROOT_USER") or e.get("AWS_ACCESS_KEY_ID"),
            s3_secret_key=e.get("MINIO_SECRET_KEY") or e.get("MINIO_ROOT_PASSWORD") or e.get("AWS_SECRET_ACCESS_KEY"),
            s3_bucket=e.get("MINIO_BUCKET") or e.get("S3_BUCKET") or "lookingglass",
            s3_region=e.get("MINIO_REGION") or e.get("AWS_REGION") or "us-east-1",
            s3_secure=secure,
            video_fps=float(e.get("LG_VIDEO_FPS") or 3.0),
            whisper_model=Path(e["LG_WHISPER_MODEL"]) if e.get("LG_WHISPER_MODEL") else None,
            redis_url=e.get("REDIS_URL") or None,
            inline_workers=int(e.get("LG_INLINE_WORKERS") or 2),
            job_timeouts=_per_queue(e, "LG_JOB_TIMEOUT_"),
            job_memory_mb=_per_queue(e, "LG_JOB_MEMORY_MB_"),
            events_token=e.get("LG_EVENTS_TOKEN") or e.get("MINIO_WEBHOOK_TOKEN") or None,
            host=e.get("LG_HOST") or "127.0.0.1",
            port=int(e.get("LG_PORT") or 5000),
            optimize_threshold=int(e.get("LG_OPTIMIZE_THRESHOLD") or 20_000),
            neo4j_uri=neo4j_uri,
            neo4j_auth=neo4j_auth,
            neo4j_database=e.get("NEO4J_DATABASE") or None,
            entity_patterns=Path(e["LG_ENTITY_PATTERNS"]) if e.get("LG_ENTITY_PATTERNS") else None,
            crawl_start_url=e.get("START_URL") or None,
            crawl_mode=(e.get("CRAWL_MODE") or "all").lower(),
            crawl_contact=e.get("LG_CRAWL_CONTACT") or cls.crawl_contact,
            crawl_allow_private=tuple(
                part.strip() for part in (e.get("LG_CRAWL_ALLOW_PRIVATE") or "").split(",") if part.strip()
            ),
            crawl_proxy=e.get("LG_CRAWL_PROXY") or None,
            crawl_max_pages=int(e.get("LG_CRAWL_MAX_PAGES") or 1000),
            crawl_max_bytes=int(e.get("LG_CRAWL_MAX_BYTES") or 2 * 1024**3),
            crawl_max_object_bytes=int(e.get("LG_CRAWL_MAX_OBJECT_BYTES") or 25 * 1024 * 1024),
            crawl_delay=float(e.get("LG_CRAWL_DELAY") or 1.0),
            chromium=Path(e.get("LG_CHROMIUM") or "/usr/bin/chromium"),
            admin_password=e.get("LG_ADMIN_PASSWORD") or None,
            lookup_rate=e.get("LG_LOOKUP_RATE") or "60/minute",
            secure_cookies=_bool(e.get("LG_SECURE_COOKIES"), False),
        )
