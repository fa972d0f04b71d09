"""Speech becomes a transcript with times, offline, from the pinned Whisper model — or a clear error.

Real speech comes from espeak-ng (Debian's `espeak-ng` package; CI installs it): these tests are skipped, with the
reason, where it is absent. Videos are built here with PyAV (see test_audio.write_media).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lookingglass.errors import BadInput, ModelIntegrityError
from lookingglass.media.speech import Transcriber
from lookingglass.models.registry import SILERO_VAD, WHISPER_TINY_EN, package_dir, verified_folder
from lookingglass.records import Segment, Transcript
from media_files import ESPEAK, SR, speak, write_media, write_wav

FOX = "The quick brown fox jumps over the lazy dog."
HAMILTON = "Hamilton was the first treasury secretary."
KEYWORDS = ("fox", "lazy", "dog", "hamilton", "treasury", "secretary")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (apt-get install espeak-ng)")


def heard(transcript: Transcript) -> set[str]:
    text = " ".join(segment.text for segment in transcript.segments).lower()
    return {word for word in KEYWORDS if word in text}


def assert_well_formed(transcript: Transcript, duration: float) -> None:
    assert transcript.duration == pytest.approx(duration, abs=0.1)
    assert transcript.segments, "no speech found"
    for segment in transcript.segments:
        assert isinstance(segment, Segment) and segment.text.strip()
        assert 0.0 <= segment.start <= segment.end <= transcript.duration + 1e-6
    starts = [segment.start for segment in transcript.segments]
    assert starts == sorted(starts)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SR), dtype=np.float32)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    model = Transcriber()
    model.load()
    return model


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    if ESPEAK is None:
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("speech")
    return {
        "both": speak(f"{FOX} {HAMILTON}", folder / "both.wav"),
        "fox": speak(FOX, folder / "fox.wav"),
        "hamilton": speak(HAMILTON, folder / "hamilton.wav"),
    }


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A faster-whisper folder like an operator's: the pinned files, model.bin linked rather than copied."""
    source = package_dir(WHISPER_TINY_EN.package) / WHISPER_TINY_EN.relpath
    target = tmp_path / "whisper-model"
    target.mkdir()
    for name in WHISPER_TINY_EN.sha256:
        if name == "model.bin":
            (target / name).symlink_to(source / name)
        else:
            shutil.copyfile(source / name, target / name)
    return target


def write_sha256sums(folder: Path) -> None:
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}"
        for path in sorted(folder.iterdir())
        if path.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


# --- what was said, and when ------------------------------------------------------------------------------------------


@needs_espeak
def test_wav_transcript(transcriber: Transcriber, sentences: dict, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "speech.wav", sentences["both"], SR)
    transcript = transcriber.transcribe(path)

    assert_well_formed(transcript, len(sentences["both"]) / SR)
    assert len(heard(transcript)) >= 4, transcript.segments
    assert (transcript.language, transcript.language_probability) == ("en", 1.0)


@needs_espeak
def test_video_transcript_times_count_from_the_start_of_the_file(
    transcriber: Transcriber, sentences: dict, tmp_path: Path
) -> None:
    audio = np.concatenate([silence(2.0), sentences["both"], silence(1.0)])
    path = write_media(tmp_path / "talk.mp4", audio, SR, video_seconds=len(audio) / SR)

    transcript = transcriber.transcribe(path)

    assert_well_formed(transcript, len(audio) / SR)
    assert len(heard(transcript)) >= 4, transcript.segments
    assert transcript.segments[0].start >= 1.5
    assert transcript.segments[-1].end <= 2.0 + len(sentences["both"]) / SR + 0.5


@needs_espeak
def test_long_audio_is_transcribed_in_windows_with_the_right_times(sentences: dict) -> None:
    """Windows of 20 s over 42 s of audio: each sentence keeps its own place in time."""
    fox, hamilton = sentences["fox"], sentences["hamilton"]
    audio = np.concatenate([silence(3.0), fox, silence(14.0), hamilton, silence(12.0), fox, silence(2.0)])
    second_at = 3.0 + len(fox) / SR + 14.0
    third_at = second_at + len(hamilton) / SR + 12.0
    windowed = Transcriber(window_seconds=20.0)

    transcript = windowed.transcribe(audio)

    assert_well_formed(transcript, len(audio) / SR)
    by_time = {word: [s.start for s in transcript.segments if word in s.text.lower()] for word in ("dog", "treasury")}
    assert any(2.0 < start < 4.0 for start in by_time["dog"]), transcript.segments
    assert any(third_at - 1.0 < start < third_at + 1.0 for start in by_time["dog"]), transcript.segments
    assert any(second_at - 1.0 < start < second_at + 1.0 for start in by_time["treasury"]), transcript.segments


@needs_espeak
def test_samples_and_progress(transcriber: Transcriber, sentences: dict) -> None:
    reported: list[float] = []
    transcript = transcriber.transcribe(sentences["fox"], progress=reported.append)

    assert {"fox", "dog"} & heard(transcript)
    assert reported and reported[-1] == 1.0
    assert reported == sorted(reported) and all(0.0 <= value <= 1.0 for value in reported)


def test_silence_has_no_segments(transcriber: Transcriber) -> None:
    transcript = transcriber.transcribe(silence(5.0))
    assert transcript.segments == () and transcript.duration == 5.0 and transcript.language == "en"


def test_english_only_model_refuses_another_language(transcriber: Transcriber) -> None:
    assert not transcriber.multilingual
    with pytest.raises(BadInput, match="only English"):
        transcriber.transcribe(silence(1.0), language="fr")


@needs_espeak
def test_concurrent_transcriptions_share_one_model(sentences: dict) -> None:
    first, second = Transcriber(), Transcriber()
    results: dict[int, Transcript] = {}

    def work(index: int, model: Transcriber) -> None:
        results[index] = model.transcribe(sentences["hamilton"])

    threads = [threading.Thread(target=work, args=(i, m)) for i, m in enumerate((first, second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert first.load() is second.load()
    assert len({results[i].segments for i in range(3)}) == 1
    assert {"hamilton", "treasury", "secretary"} & heard(results[0])


# --- bad input ------------------------------------------------------------------------------------------------------


def test_video_without_audio(transcriber: Transcriber, tmp_path: Path) -> None:
    path = write_media(tmp_path / "silent-film.mp4", None, video_seconds=1.0)
    with pytest.raises(BadInput, match="no audio"):
        transcriber.transcribe(path)


def test_text_file(transcriber: Transcriber, tmp_path: Path) -> None:
    path = tmp_path / "lecture.mp4"
    path.write_text("This is what I would have said.\n" * 10)
    with pytest.raises(BadInput, match="not a media file"):
        transcriber.transcribe(path)


@needs_espeak
@pytest.mark.parametrize("faststart", [True, False])
def test_truncated_video_gives_a_partial_transcript_or_bad_input(
    transcriber: Transcriber, sentences: dict, tmp_path: Path, faststart: bool
) -> None:
    audio = np.concatenate([sentences["both"], silence(0.5)])
    path = write_media(tmp_path / "full.mp4", audio, SR, video_seconds=len(audio) / SR, faststart=faststart)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    try:
        transcript = transcriber.transcribe(cut)
    except BadInput as exc:
        assert not faststart and "truncated" in exc.message
    else:
        assert faststart and transcript.duration < len(audio) / SR
        assert {"fox", "dog"} & heard(transcript)


def test_bad_samples(transcriber: Transcriber) -> None:
    with pytest.raises(BadInput, match="1-D"):
        transcriber.transcribe(np.zeros((2, SR), np.float32))
    with pytest.raises(BadInput, match="float"):
        transcriber.transcribe(np.zeros(SR, np.uint8))


# --- model integrity ------------------------------------------------------------------------------------------------


def test_pinned_model_verifies() -> None:
    folder = verified_folder(WHISPER_TINY_EN)
    assert sorted(path.name for path in folder.iterdir() if path.is_file()) == sorted(WHISPER_TINY_EN.sha256)


def test_copy_of_the_pinned_model_is_accepted_without_sha256sums(model_copy: Path) -> None:
    assert verified_folder(WHISPER_TINY_EN, model_copy) == model_copy


def test_corrupted_file_is_refused_by_name(model_copy: Path) -> None:
    config = model_copy / "config.json"
    config.write_bytes(config.read_bytes() + b" ")
    with pytest.raises(ModelIntegrityError, match=r"config\.json"):
        Transcriber(model_copy).load()


def test_missing_tokenizer_is_refused(model_copy: Path) -> None:
    """Without tokenizer.json faster-whisper would fetch one from the hub: we refuse instead."""
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelIntegrityError, match=r"tokenizer\.json is missing"):
        verified_folder(WHISPER_TINY_EN, model_copy)


@needs_espeak
def test_operator_model_with_sha256sums_is_accepted(model_copy: Path, sentences: dict) -> None:
    """An operator's own model (here: a changed config.json) loads when its folder lists its hashes."""
    config = model_copy / "config.json"
    config.write_text(config.read_text().replace("\n", "\r\n"))
    with pytest.raises(ModelIntegrityError, match=r"config\.json"):
        verified_folder(WHISPER_TINY_EN, model_copy)

    write_sha256sums(model_copy)
    transcript = Transcriber(model_copy).transcribe(sentences["fox"])
    assert {"fox", "dog"} & heard(transcript)


def test_sha256sums_must_list_every_file_the_loader_reads(model_copy: Path) -> None:
    write_sha256sums(model_copy)
    (model_copy / "preprocessor_config.json").write_text('{"feature_size": 80}')
    with pytest.raises(ModelIntegrityError, match=r"preprocessor_config\.json has no SHA-256"):
        verified_folder(WHISPER_TINY_EN, model_copy)


def test_sha256sums_mismatch_is_refused(model_copy: Path) -> None:
    write_sha256sums(model_copy)
    sums = model_copy / "SHA256SUMS"
    sums.write_text(sums.read_text().replace(WHISPER_TINY_EN.sha256["vocabulary.txt"], "0" * 64))
    with pytest.raises(ModelIntegrityError, match=r"vocabulary\.txt has SHA-256 .* expected 0{64}"):
        verified_folder(WHISPER_TINY_EN, model_copy)


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        verified_folder(WHISPER_TINY_EN, tmp_path / "no-such-model")


def test_vad_model_is_checked(model_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Transcriber, "vad", replace(SILERO_VAD, sha256="0" * 64))
    with pytest.raises(ModelIntegrityError, match=r"silero_vad_v6\.onnx"):
        Transcriber(model_copy).load()


@needs_espeak
def test_works_without_network_or_hub_cache(sentences: dict, tmp_path: Path) -> None:
    """In a fresh process with no network namespace and an empty Hugging Face cache, nothing is downloaded."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here (unshare -rn)")
    path = write_wav(tmp_path / "fox.wav", sentences["fox"], SR)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    env["HF_HOME"] = str(tmp_path / "empty-hf-home")
    code = (
        "import sys; from lookingglass.media.speech import Transcriber; "
        "print(' '.join(s.text for s in Transcriber().transcribe(sys.argv[1]).segments))"
    )
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "dog" in done.stdout.lower() or "fox" in done.stdout.lower()
    assert not (tmp_path / "empty-hf-home").exists()
