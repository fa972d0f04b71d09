"""The demo set `make run` shows: photos of several people (with group photos), a short video with speech, and a
handful of pages that fill the entity graph and say who is on the photos.

Everything comes from packages a fresh machine fetches with pip, or is made here:

- photos of Barack Obama and Joe Biden from the face_recognition 1.3.0 sdist (MIT; `samples.fetch_samples`, the
  project's sample set; obama.jpg and biden.jpg are their official White House portraits, US government works);
- Eileen Collins (`astronaut.png`, NASA, public domain) and the cameraman (`camera.png`, CC0) from the
  scikit-image 0.26.0 wheel's data folder;
- group photos: composites made here from those portraits (the pages say they are composites);
- a video: a slow zoom over the Eileen Collins photo with speech from espeak-ng (Debian's `espeak-ng` when
  installed, else the library inside the espeakng-loader wheel), muxed with PyAV;
- pages: `pages/*.html` beside this file, written for the demo. The organisations and people in the graph pages are
  fictional; the pages about real people state only well-known public facts.

`fetch DIR` builds the set once (what pip fetched is cached under DIR/cache, so later runs work offline);
`ingest DIR` stores it in LG_DATA_DIR (each photo with the page that shows it as a sighting, so the People page
suggests names), runs the graph analytics and clusters people, and writes `demo.json` there, which makes the web
UI's start page (`/start`) appear.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import wave
import zipfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from lookingglass.sources.samples import fetch_samples

PAGES = Path(__file__).parent / "pages"
SKIMAGE = "scikit-image==0.26.0"
ESPEAK_WHEEL = "espeakng-loader==0.2.4"  # libespeak-ng and its voice data, when Debian's espeak-ng is not installed
SKIMAGE_FILES = {"skimage/data/astronaut.png": "eileen_collins.png", "skimage/data/camera.png": "cameraman.png"}
PORTRAITS = ("obama.jpg", "obama2.jpg", "biden.jpg")  # from the face_recognition sdist; obama3.jpg is the query
QUERY_PHOTO = "obama3.jpg"
VIDEO = "eileen_collins.mp4"
SPEECH = (
    "Welcome to the Looking Glass demonstration. This short video shows the astronaut Eileen Collins. "
    "In nineteen ninety nine she became the first woman to command a space shuttle mission. "
    "Search the text index for the word shuttle to find this moment."
)
SEARCH_WORD = "shuttle"
ENTITY = "Saltmarsh Energy"  # the start page's entity to open: typed relations, and organisations sharing people
MANIFEST = "demo.json"


@dataclass
class DemoSet:
    """What `fetch` built: the files to ingest and the hints the start page gives."""

    root: Path
    photos: list[Path]
    pages: list[Path]
    video: Path | None  # None without espeak-ng
    query_photo: Path
    search_word: str = SEARCH_WORD
    notes: list[str] | None = None

    def files(self) -> list[Path]:
        return [*self.pages, *self.photos, *([self.video] if self.video else [])]


def fetch(root: Path) -> DemoSet:
    """Build the demo set under `root` (photos/, video/, pages/, query/); whatever exists is kept."""
    root = root.resolve()
    cache, photos, query = root / "cache", root / "photos", root / "query"
    for folder in (cache, photos, query):
        folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    portraits = {p.name: p for p in fetch_samples(cache / "face_recognition")}
    for name in PORTRAITS:
        _copy(portraits[name], photos / name)
    _copy(portraits[QUERY_PHOTO], query / QUERY_PHOTO)
    _skimage_photos(cache / "scikit-image", photos)
    _composite([photos / "obama2.jpg", photos / "biden.jpg", photos / "eileen_collins.png"], photos / "group_three.jpg")
    _composite(
        [photos / "biden.jpg", photos / "eileen_collins.png", photos / "obama.jpg", photos / "cameraman.png"],
        photos / "group_four.jpg",
    )
    pages = _pages(root / "pages")
    video: Path | None = root / "video" / VIDEO
    if not video.exists():
        video.parent.mkdir(exist_ok=True)
        try:
            make_video(photos / "eileen_collins.png", SPEECH, video, cache=cache / "espeakng-loader")
        except (OSError, subprocess.CalledProcessError) as exc:
            notes.append(f"no speech synthesiser (espeak-ng or {ESPEAK_WHEEL}): the demo has no video: {exc}")
            video = None
    return DemoSet(
        root=root,
        photos=sorted(photos.iterdir()),
        pages=pages,
        video=video,
        query_photo=query / QUERY_PHOTO,
        notes=notes,
    )


def _copy(source: Path, dest: Path) -> None:
    if not dest.exists():
        shutil.copyfile(source, dest)


def _skimage_photos(cache: Path, photos: Path) -> None:
    """Two photos from scikit-image's wheel: read from the archive, never installed."""
    if all((photos / name).exists() for name in SKIMAGE_FILES.values()):
        return
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("scikit_image-*.whl"))
    if not wheels:
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
        subprocess.run([*pip, SKIMAGE, "-d", str(cache)], check=True)
        wheels = sorted(cache.glob("scikit_image-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        for member, name in SKIMAGE_FILES.items():
            (photos / name).write_bytes(wheel.read(member))


def _composite(sources: list[Path], dest: Path, height: int = 420) -> None:
    """A group photo made of portraits side by side, each scaled to one height, on a grey background."""
    if dest.exists():
        return
    tiles = []
    for path in sources:
        with Image.open(path) as image:
            image = image.convert("RGB")
            tiles.append(image.resize((round(image.width * height / image.height), height)))
    gap = 24
    canvas = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) + 1), height + 2 * gap), (90, 90, 90))
    x = gap
    for tile in tiles:
        canvas.paste(tile, (x, gap))
        x += tile.width + gap
    canvas.save(dest, quality=90)


def _pages(dest: Path) -> list[Path]:
    """The pages as this version ships them (an upgrade's edits replace older copies; nothing else is kept)."""
    dest.mkdir(parents=True, exist_ok=True)
    for page in PAGES.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        target = dest / page.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return sorted(dest / page.name for page in PAGES.glob("*.html"))


def speak(text: str, cache: Path) -> tuple[np.ndarray, int]:
    """`text` read by espeak-ng's American English voice, as float samples and their rate: Debian's `espeak-ng` when
    installed, else the library and voice data inside the espeakng-loader wheel (fetched with pip into `cache`,
    unpacked, never installed), called through ctypes."""
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "speech.wav"
            subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(wav), text], check=True, capture_output=True)
            with wave.open(str(wav)) as speech:
                rate = speech.getframerate()
                pcm = np.frombuffer(speech.readframes(speech.getnframes()), dtype="<i2")
        return pcm.astype(np.float32) / 32768, rate
    return _speak_with_wheel(text, cache)


def _speak_with_wheel(text: str, cache: Path) -> tuple[np.ndarray, int]:
    import ctypes

    unpacked = cache / "espeakng_loader"
    if not (unpacked / "libespeak-ng.so").exists():
        cache.mkdir(parents=True, exist_ok=True)
        wheels = sorted(cache.glob("espeakng_loader-*.whl"))
        if not wheels:
            pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
            subprocess.run([*pip, ESPEAK_WHEEL, "-d", str(cache)], check=True)
            wheels = sorted(cache.glob("espeakng_loader-*.whl"))
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(cache, [n for n in wheel.namelist() if n.startswith("espeakng_loader/")])
    lib = ctypes.CDLL(str(unpacked / "libespeak-ng.so"))
    rate = lib.espeak_Initialize(2, 0, str(unpacked / "espeak-ng-data").encode(), 0)  # 2: synchronous, to a callback
    if rate <= 0:
        raise OSError(f"espeak-ng from {ESPEAK_WHEEL} did not start ({rate})")
    chunks: list[np.ndarray] = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    def collect(pcm, count, _events):
        if count > 0:
            chunks.append(np.ctypeslib.as_array(pcm, shape=(count,)).copy())
        return 0

    lib.espeak_SetSynthCallback(collect)
    lib.espeak_SetVoiceByName(b"en-us")
    lib.espeak_SetParameter(1, 140, 0)  # espeakRATE: words per minute, as `-s 140`
    encoded = text.encode() + b"\0"
    if lib.espeak_Synth(ctypes.c_char_p(encoded), len(encoded), 0, 0, 0, 0, None, None) != 0:
        raise OSError(f"espeak-ng from {ESPEAK_WHEEL} could not speak")
    lib.espeak_Synchronize()
    lib.espeak_Terminate()
    return np.concatenate(chunks).astype(np.float32) / 32768, rate


def make_video(photo: Path, text: str, dest: Path, *, cache: Path, fps: int = 10) -> Path:
    """An H.264/AAC MP4: a slow zoom over `photo` for as long as espeak-ng takes to say `text`, plus a second."""
    import av

    samples, rate = speak(text, cache)
    seconds = len(samples) / rate + 1.0
    with Image.open(photo) as image:
        picture = image.convert("RGB")
    width, height = 640, 480
    partial = dest.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=rate)
        sound.layout = "mono"
        frames = round(seconds * fps)
        for index in range(frames):
            zoom = 1.0 + 0.25 * index / max(frames - 1, 1)  # from the whole photo to a quarter closer
            side = picture.width / zoom
            left = (picture.width - side) / 2
            top = (picture.height - side) * 0.3  # towards the face, which is in the upper part
            crop = picture.crop((round(left), round(top), round(left + side), round(top + side)))
            frame_image = Image.new("RGB", (width, height), (20, 20, 20))
            frame_image.paste(crop.resize((height, height)), ((width - height) // 2, 0))
            frame = av.VideoFrame.from_image(frame_image)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        step = sound.codec_context.frame_size or 1024
        for start in range(0, len(samples), step):
            chunk = np.ascontiguousarray(samples[start : start + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            container.mux(sound.encode(frame))
        container.mux(sound.encode())
    partial.replace(dest)
    return dest


@dataclass
class Sighting:
    """A photo or video as a demo page shows it."""

    source_url: str
    page_url: str
    page_title: str | None
    alt: str | None
    caption: str | None
    context: str | None


def sightings(pages: list[Path]) -> dict[Path, Sighting]:
    """Each media file the pages show (`<img>`, `<video>`), with its page, title, alt text, caption and context.
    A file shown on several pages keeps its first page."""
    from parsel import Selector

    from lookingglass.sources.crawler.extract import surroundings

    found: dict[Path, Sighting] = {}
    for page in pages:
        sel = Selector(text=page.read_text(encoding="utf-8"))
        title = sel.css("title::text").get()
        for el in sel.xpath("//img | //video"):
            src = el.attrib.get("src")
            if not src:
                continue
            media = (page.parent / src).resolve()
            caption, context = surroundings(el)
            found.setdefault(
                media,
                Sighting(
                    source_url=media.as_uri(),
                    page_url=page.resolve().as_uri(),
                    page_title=title,
                    alt=el.attrib.get("alt") or el.attrib.get("title"),
                    caption=caption,
                    context=context,
                ),
            )
    return found


def ingest(demo: DemoSet, settings) -> dict:
    """Store and process the demo set in `settings.data_dir` (here, or through the `serve` that owns it): pages
    first, then photos and the video with their sightings; then graph analytics and people clustering. Writes
    `demo.json` into the data dir for the start page."""
    from lookingglass.cli.service import open_service
    from lookingglass.services.graph import EntityQuery, SharedPeopleQuery
    from lookingglass.services.objects import StoreRequest, store_patiently
    from lookingglass.services.people import ClusterRequest

    seen = sightings(demo.pages)
    report: dict = {"files": 0, "faces": 0, "errors": [], "already_indexed": 0}
    with open_service(settings) as service:
        for path in demo.files():
            data = path.read_bytes()
            if _indexed(service, hashlib.sha256(data).hexdigest()):  # a second `make run` starts at once
                report["already_indexed"] += 1
                continue
            sighting = seen.get(path.resolve())
            fields = asdict(sighting) if sighting else {"source_url": path.resolve().as_uri()}
            stored = store_patiently(service, StoreRequest(filename=path.name, **fields), data)
            report["files"] += 1
            if stored.error is not None:
                report["errors"].append(f"{path.name}: {stored.error.message}")
            report["faces"] += stored.faces or 0
        report["analytics"] = service.run_graph_analytics().model_dump(mode="json")
        report["people"] = service.cluster_people(ClusterRequest(full=True)).model_dump(mode="json")
        report["shared_people"] = len(service.shared_people(SharedPeopleQuery(limit=100)).pairs)
        found = service.list_entities(EntityQuery(q=ENTITY, type="ORG", limit=1)).entities
    entity_id = found[0].id if found else None
    manifest = {
        "root": str(demo.root),
        "query_photo": str(demo.query_photo),
        "search_word": demo.search_word,
        "entity": {"id": entity_id, "name": ENTITY} if entity_id else None,
        "video": demo.video.name if demo.video else None,
        "notes": demo.notes or [],
    }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return report


def _indexed(service, sha256: str) -> bool:
    from lookingglass.errors import NotFound

    try:
        found = service.describe_object(sha256=sha256)
    except NotFound:
        return False
    return bool(found.metadata.get("processed")) and not found.metadata.get("processing_error")


def read_manifest(data_dir: Path) -> dict | None:
    """The demo's hints for the start page, or None when this data dir holds no demo."""
    try:
        return json.loads((data_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
