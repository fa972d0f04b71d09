"""Shared fixtures: the labelled photos, a fresh embedded data dir, and one set of models per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lookingglass.app import App, build
from lookingglass.settings import Settings
from lookingglass.vision.faces import FaceModels

pytest_plugins = ("ui_session",)  # the shared browser session (server, chromium, admin, ui) for UI test modules

REPO = Path(__file__).resolve().parents[1]


def faces_root() -> Path:
    return Path(os.environ.get("LG_TEST_FACES") or REPO.parent / "shared" / "data" / "faces")


@pytest.fixture(autouse=True, scope="session")
def _every_json_answer_is_checked_against_openapi():
    """Every JSON answer a test receives from `create_app` must match /openapi.json (web/answers.py)."""
    import lookingglass.web

    lookingglass.web.CHECK_ANSWERS = True
    yield
    lookingglass.web.CHECK_ANSWERS = False


SERVER_ENV = (
    "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "MINIO_ENDPOINT", "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY", "MINIO_BUCKET", "QDRANT_URL", "QDRANT_HOST", "QDRANT_API_KEY", "REDIS_URL",
)  # fmt: skip
SERVER_TEST_MODULES = {"test_objects", "test_vectors", "test_s3_events", "test_text_index"}


@pytest.fixture(autouse=True, scope="module")
def _embedded_unless_a_server_test(request):
    """Server env vars are for the server contract tests; every other test (and the CLI it spawns) runs embedded.
    Module-scoped, so it is in force before a module's own shared fixtures start processes too."""
    with pytest.MonkeyPatch.context() as patch:
        if request.module.__name__.rsplit(".", 1)[-1] not in SERVER_TEST_MODULES:
            for name in SERVER_ENV:
                patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    root = faces_root()
    if not (root / "labels.json").is_file():
        pytest.skip(f"labelled face photos not found at {root} (set LG_TEST_FACES)")
    return root


@pytest.fixture(scope="session")
def sample_photos() -> Path:
    """The face_recognition 1.3.0 test photos (obama.jpg, obama2.jpg, biden.jpg, ...): from the labelled set when it
    is here, else fetched from PyPI once (lookingglass.sources.samples) and cached, so a fresh clone runs these tests
    too."""
    local = faces_root() / "face_recognition_ageitgey" / "tests" / "test_images"
    if (local / "obama.jpg").is_file():
        return local
    from lookingglass.sources.samples import fetch_samples

    cache = Path(os.environ.get("LG_SAMPLES_CACHE") or Path.home() / ".cache" / "lookingglass" / "samples")
    try:
        fetch_samples(cache)
    except Exception as exc:  # no index reachable: say so, never pass silently
        pytest.skip(f"sample photos unavailable (pip could not fetch face_recognition==1.3.0): {exc}")
    return cache


@pytest.fixture(scope="session")
def test_images(sample_photos: Path) -> Path:
    """The seven face_recognition test photos (obama.jpg, obama2.jpg, obama3.jpg, biden.jpg, ...): what the core
    face tests ingest and look up. They run on a fresh clone too (see sample_photos)."""
    return sample_photos


@pytest.fixture(scope="session")
def two_people(test_images, tmp_path_factory) -> Path:
    """A group photo made from two of the sample photos, side by side: Obama left, Biden right."""
    from PIL import Image

    left, right = (Image.open(test_images / name).convert("RGB") for name in ("obama3.jpg", "biden.jpg"))
    height = 480
    left, right = (im.resize((round(im.width * height / im.height), height)) for im in (left, right))
    group = Image.new("RGB", (left.width + right.width, height))
    group.paste(left, (0, 0))
    group.paste(right, (left.width, 0))
    path = tmp_path_factory.mktemp("group") / "two_people.jpg"
    group.save(path, quality=92)
    return path


@pytest.fixture(scope="session")
def no_face_photo(tmp_path_factory) -> Path:
    """A picture with no face in it: a plain blue PNG."""
    from PIL import Image

    path = tmp_path_factory.mktemp("no_face") / "blue.png"
    Image.new("RGB", (320, 240), (90, 140, 200)).save(path)
    return path


@pytest.fixture(scope="session")
def labels(faces_dir: Path) -> dict:
    return json.loads((faces_dir / "labels.json").read_text())


@pytest.fixture(scope="session")
def models() -> FaceModels:
    loaded = FaceModels.create()
    loaded.load()
    return loaded


@pytest.fixture(scope="session")
def recognizer():
    """spaCy NER + ruler, loaded once per session (a couple of seconds) for every text and graph test."""
    from graph_fixtures import loaded_recognizer

    return loaded_recognizer()


@pytest.fixture(scope="session")
def extractions() -> dict:
    """Every page of tests/data/graph_corpus through html → NER → relations, keyed by file name."""
    from graph_fixtures import corpus_extractions

    return corpus_extractions()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings, models: FaceModels) -> App:
    """An embedded app on a fresh data dir, sharing the session's loaded models."""
    wired = build(settings)
    wired._models = models
    yield wired
    wired.close()


# Credentials (issue 7): every route but a few public ones needs an API key, a session or the local token.


def api_key_headers(settings: Settings, role: str) -> dict[str, str]:
    """A new API key with `role` in the data dir's account store, as request headers."""
    from lookingglass.stores.private.accounts import AccountStore

    _, key = AccountStore.open(settings.data_dir).create_key(role, label=f"tests ({role})")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def analyst_headers(settings: Settings) -> dict[str, str]:
    return api_key_headers(settings, "analyst")


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return api_key_headers(settings, "admin")


def authorized_client(app: App, headers: dict[str, str]):
    """Flask's test client over `create_app(app)` that sends `headers`' Authorization with every request."""
    from lookingglass.web import create_app

    client = create_app(app).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = headers["Authorization"]
    return client


@pytest.fixture
def analyst_client(app: App, analyst_headers: dict[str, str]):
    return authorized_client(app, analyst_headers)


@pytest.fixture
def admin_client(app: App, admin_headers: dict[str, str]):
    return authorized_client(app, admin_headers)
