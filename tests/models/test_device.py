"""LG_DEVICE: one setting decides where every model runs, and every surface says where each one does.

`cpu` puts every model on the CPU; `auto` takes a GPU only when onnxruntime opens a CUDA session on it and
CTranslate2 counts it (on this machine: the CPU, and /health says why); `cuda` without a usable GPU is one error at
the start of serve, worker and ingest (DeviceUnavailable, exit 9), never a quiet CPU run; an empty
CUDA_VISIBLE_DEVICES hides every GPU. What a model does on a GPU is reported by the runtime that runs it: OpenCV's
DNN and dlib from PyPI have no CUDA, so they say "cpu (... without CUDA)" even when the device is a GPU.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from cli_process import run_cli
from lookingglass.app import build
from lookingglass.errors import DeviceUnavailable
from lookingglass.media.speech import Transcriber
from lookingglass.models.device import _IDENTITY_GRAPH, CPU, Device, choose, cuda_problem
from lookingglass.services import Caller
from lookingglass.services.system import health
from lookingglass.settings import Settings
from lookingglass.vision.detect import RetinaFaceDetector, YuNetDetector
from lookingglass.vision.embed import DlibEmbedder, SFaceEmbedder
from redis_server import RedisServer, redis_available

MODELS = {"retinaface", "yunet", "sface", "whisper"}
NO_GPU_HERE = cuda_problem(0) is not None


def no_gpu_env(**extra: str) -> dict[str, str]:
    """Blanks (read as unset) for whatever in this environment would select servers or a device, plus `extra`."""
    prefixes = ("LG_", "REDIS_", "QDRANT_", "MINIO_", "S3_", "AWS_", "NEO4J_")
    return {**{k: "" for k in os.environ if k.startswith(prefixes)}, **extra}


# --- the setting


def test_lg_device_is_a_validated_setting_that_defaults_to_auto() -> None:
    assert Settings.from_env({}).device == "auto"
    assert Settings.from_env({"LG_DEVICE": " CUDA:1 "}).device == "cuda:1"
    assert Settings.from_env({"LG_DEVICE": "cpu"}).device == "cpu"
    [(_, shown, accepts)] = [row for row in Settings.from_env({}).effective() if row[0] == "LG_DEVICE"]
    assert shown == "auto" and accepts.startswith("auto, cpu, cuda or cuda:N")


def test_an_invalid_device_stops_the_command_with_exit_2_and_the_settings_message(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "config", env=no_gpu_env(LG_DEVICE="tpu"), timeout=120)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "lookingglass: LG_DEVICE='tpu' is not valid: expected auto, cpu, cuda or cuda:N"
        " (N counts the GPUs CUDA_VISIBLE_DEVICES leaves visible)"
    )


def test_an_empty_cuda_visible_devices_is_read_as_no_gpu_not_as_unset() -> None:
    assert Settings.from_env({}).cuda_visible_devices is None
    assert Settings.from_env({"CUDA_VISIBLE_DEVICES": ""}).cuda_visible_devices == ""
    assert Settings.from_env({"CUDA_VISIBLE_DEVICES": "1,0"}).cuda_visible_devices == "1,0"

    chosen = choose("auto", "")
    assert chosen.device == CPU
    assert chosen.reason == "no usable GPU: CUDA_VISIBLE_DEVICES='' hides every GPU"
    with pytest.raises(DeviceUnavailable, match="CUDA_VISIBLE_DEVICES='' hides every GPU"):
        choose("cuda", "")


# --- what each choice means, model by model


def test_cpu_puts_every_model_on_the_cpu(tmp_path: Path) -> None:
    app = build(Settings(data_dir=tmp_path / "data", device="cpu"))
    try:
        assert app.device.device == CPU
        assert app.placements() == {"retinaface": "cpu", "yunet": "cpu", "sface": "cpu", "whisper": "cpu int8"}
        assert app.models.detector.primary.device == app.transcriber.device == CPU
    finally:
        app.close()


@pytest.mark.skipif(not NO_GPU_HERE, reason="a CUDA device is usable here")
def test_auto_runs_on_the_cpu_here_and_health_says_so_with_the_reason(tmp_path: Path) -> None:
    app = build(Settings(data_dir=tmp_path / "data", device="auto"))
    try:
        report = health(app, Caller(name="ada", role="admin", via="key")).device
    finally:
        app.close()

    assert report is not None
    assert (report.requested, report.device) == ("auto", "cpu")
    assert report.reason == f"no usable GPU: {cuda_problem(0)}"
    assert "onnxruntime" in report.reason and "CUDAExecutionProvider" in report.reason
    assert set(report.models) == MODELS and all(where.startswith("cpu") for where in report.models.values())


def test_anonymous_health_says_nothing_about_the_device(tmp_path: Path) -> None:
    app = build(Settings(data_dir=tmp_path / "data", device="cpu"))
    try:
        assert health(app, Caller(name="anonymous", role="anonymous", via="anonymous")).device is None
    finally:
        app.close()


def test_on_a_gpu_each_model_reports_what_its_runtime_really_does() -> None:
    """Placement is a report, computed without loading: the GPU itself is not needed to check what it says."""
    gpu = Device("cuda", 1)

    assert RetinaFaceDetector(device=gpu).placement() == "cuda:1"  # onnxruntime's CUDA provider
    assert SFaceEmbedder(device=gpu).placement() == "cuda:1"  # onnxruntime too, batched (vision/onnx_graph.py)
    assert Transcriber(None, gpu).placement() == "cuda:1 float16"  # CTranslate2
    opencv = "cuda:1" if cv2.cuda.getCudaEnabledDeviceCount() > 1 else "cpu (OpenCV without CUDA)"
    assert YuNetDetector(device=gpu).placement() == opencv
    dlib = pytest.importorskip("dlib")
    assert DlibEmbedder(device=gpu).placement() == ("cuda:1" if dlib.DLIB_USE_CUDA else "cpu (dlib without CUDA)")


def test_each_model_declares_the_runtime_it_really_loads() -> None:
    """`engine` decides the placement report; a model moved to another runtime must change it (this fails if not)."""
    for model in (RetinaFaceDetector(device=CPU), YuNetDetector(device=CPU), SFaceEmbedder(device=CPU)):
        runtime = model.load()
        loaded = "onnxruntime" if isinstance(runtime, ort.InferenceSession) else "opencv"
        assert model.engine == loaded, type(model).__name__


def test_the_usability_probe_is_a_real_one_node_onnx_graph() -> None:
    session = ort.InferenceSession(_IDENTITY_GRAPH, providers=["CPUExecutionProvider"])
    [out] = session.run(None, {"x": np.array([2.5], dtype=np.float32)})
    assert out.tolist() == [2.5]


# --- cuda without a GPU: one error at start, real processes


@pytest.mark.skipif(not NO_GPU_HERE, reason="a CUDA device is usable here")
@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["worker", "--burst"],
        ["ingest", "--quiet", "PHOTO"],
    ],
    ids=["serve", "worker", "ingest"],
)
def test_cuda_without_a_usable_gpu_stops_serve_worker_and_ingest_with_one_line_and_exit_9(
    tmp_path: Path, test_images: Path, command: list[str]
) -> None:
    argv = [str(test_images / "obama.jpg") if arg == "PHOTO" else arg for arg in command]
    env = no_gpu_env(LG_DEVICE="cuda", REDIS_URL="redis://127.0.0.1:9/0")  # the worker needs one; never reached
    if command[0] != "worker":
        env.pop("REDIS_URL")

    result = run_cli(tmp_path / "data", *argv, env=env, timeout=120)

    assert result.returncode == DeviceUnavailable.exit_code == 9, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith(f"lookingglass: execution device 'cuda' is not usable here: {cuda_problem(0)}")
    assert result.stdout == ""
    assert not (tmp_path / "data" / "objects").exists(), "nothing was stored before the refusal"


def test_cuda_visible_devices_empty_with_cuda_is_refused_even_where_a_gpu_exists(tmp_path: Path) -> None:
    env = no_gpu_env(LG_DEVICE="cuda:0", CUDA_VISIBLE_DEVICES="")
    result = run_cli(tmp_path / "data", "health", env=env, timeout=120)

    assert result.returncode == 9
    assert "CUDA_VISIBLE_DEVICES='' hides every GPU" in result.stderr


# --- the start lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_says_where_each_model_runs_when_it_starts(tmp_path: Path) -> None:
    env = {**os.environ, **no_gpu_env(LG_DEVICE="cpu", LG_DATA_DIR=str(tmp_path / "data"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "lookingglass.cli", "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    assert line.startswith("LookingGlass serving on http://127.0.0.1:")
    assert line.rstrip().endswith(
        "models: retinaface cpu, yunet cpu, sface cpu, whisper cpu int8 [LG_DEVICE=cpu: asked for]"
    )


@pytest.mark.skipif(not redis_available(), reason="redis-server not installed (apt-get install redis-server)")
def test_the_worker_says_where_each_model_runs_when_it_starts(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    try:
        env = no_gpu_env(REDIS_URL=redis.url, LG_DEVICE="auto", CUDA_VISIBLE_DEVICES="")
        result = run_cli(tmp_path / "data", "worker", "--burst", "--queues", "faces", env=env, timeout=180)
    finally:
        redis.stop()

    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("worker ") and " on faces; models: " in first
    assert first.endswith(
        "models: retinaface cpu, yunet cpu, sface cpu, whisper cpu int8"
        " [LG_DEVICE=auto: no usable GPU: CUDA_VISIBLE_DEVICES='' hides every GPU]"
    )
