"""The execution device, chosen in one place (LG_DEVICE); each runtime's own way of saying it is derived from that.

"cpu" runs every model on the CPU. "cuda" (or "cuda:N") asks for a GPU and is refused with one clear error when
none is usable, never quietly run on the CPU; "auto" takes the GPU when it is usable and the CPU otherwise, and
says why (`choose`). N counts the GPUs CUDA_VISIBLE_DEVICES leaves visible (CUDA renumbers them from 0); an empty
CUDA_VISIBLE_DEVICES hides every GPU.

"Usable" is asked of the runtimes themselves: onnxruntime lists its CUDAExecutionProvider (onnxruntime-gpu, `make
install-gpu`) AND a session actually opens on GPU N, and CTranslate2 counts more than N CUDA devices.

What each runtime does on a GPU (`placement`): onnxruntime (RetinaFace, SFace) uses its CUDA provider; CTranslate2
(Whisper) runs float16; OpenCV's DNN (YuNet) uses its CUDA backend only when this OpenCV was built with CUDA (PyPI's
wheels are not, so it stays on the CPU and says so); dlib uses the GPU only when its build has CUDA (dlib-bin's does
not); spaCy runs on the CPU.
"""

from __future__ import annotations

import contextlib
import re
import sys
from dataclasses import dataclass
from functools import cache

from lookingglass.errors import BadInput, DeviceUnavailable

CHOICES = ("auto", "cpu", "cuda", "cuda:N")
PATTERN = re.compile(r"auto|cpu|cuda(?::(\d+))?")  # LG_DEVICE, lower-cased
_CUDA = re.compile(r"cuda(?::(\d+))?")


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "cuda"
    index: int = 0  # among the GPUs CUDA_VISIBLE_DEVICES leaves visible

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.index}"

    @property
    def onnx_providers(self) -> list[str | tuple[str, dict]]:
        """onnxruntime's providers, best first."""
        if self.kind == "cuda":
            return [("CUDAExecutionProvider", {"device_id": self.index}), "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    @property
    def opencv_dnn(self) -> tuple[int, int]:
        """OpenCV DNN's (backend, target) for FaceDetectorYN."""
        import cv2

        if self.kind == "cuda" and opencv_cuda_devices() > self.index:
            return cv2.dnn.DNN_BACKEND_CUDA, cv2.dnn.DNN_TARGET_CUDA
        return cv2.dnn.DNN_BACKEND_DEFAULT, cv2.dnn.DNN_TARGET_CPU

    @property
    def whisper(self) -> tuple[str, int, str]:
        """CTranslate2's (device, device_index, default compute_type) for faster-whisper."""
        if self.kind == "cuda":
            return "cuda", self.index, "float16"
        return "cpu", 0, "int8"


CPU = Device("cpu")


@dataclass(frozen=True)
class Choice:
    """What LG_DEVICE asked for, what it got, and why (for /health and the start lines)."""

    requested: str
    device: Device
    reason: str


def choose(requested: str | Device = "cpu", visible_devices: str | None = None) -> Choice:
    """The device to run on, and why: "cpu", "cuda[:N]" (DeviceUnavailable when not usable) or "auto".

    `visible_devices` is CUDA_VISIBLE_DEVICES as the settings read it (None: unset; "": every GPU hidden).
    """
    if isinstance(requested, Device):
        return Choice(str(requested), requested, "asked for")
    wanted = requested.strip().lower()
    if wanted == "cpu":
        return Choice(wanted, CPU, "asked for")
    if wanted == "auto":
        problem = cuda_problem(0, visible_devices)
        if problem is None:
            return Choice(wanted, Device("cuda", 0), "a usable GPU")
        return Choice(wanted, CPU, f"no usable GPU: {problem}")
    match = _CUDA.fullmatch(wanted)
    if match is None:
        raise BadInput(f"unknown execution device {requested!r}; choose one of {', '.join(CHOICES)}")
    index = int(match.group(1) or 0)
    problem = cuda_problem(index, visible_devices)
    if problem is not None:
        raise DeviceUnavailable(f"execution device '{wanted}' is not usable here: {problem}; use 'cpu' or 'auto'")
    return Choice(wanted, Device("cuda", index), "asked for")


def resolve_device(requested: str | Device = "cpu", visible_devices: str | None = None) -> Device:
    """The device to run on (see `choose`)."""
    return choose(requested, visible_devices).device


def hides_every_gpu(visible_devices: str | None) -> bool:
    """CUDA_VISIBLE_DEVICES set to nothing (or to -1, which CUDA also reads as "none")."""
    return visible_devices is not None and (visible_devices.strip() == "" or visible_devices.strip().startswith("-1"))


@cache
def cuda_problem(index: int = 0, visible_devices: str | None = None) -> str | None:
    """Why GPU `index` cannot run our models, or None when it can (the detector's and Whisper's runtimes see it)."""
    if hides_every_gpu(visible_devices):
        return f"CUDA_VISIBLE_DEVICES={visible_devices.strip()!r} hides every GPU"  # type: ignore[union-attr]
    import onnxruntime as ort

    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        return (
            f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (it has {', '.join(providers)};"
            " onnxruntime-gpu has it: `make install-gpu`)"
        )
    # CUDA and cuDNN from PyPI's nvidia-* wheels (the `gpu` extra) are found only once loaded; system ones need nothing.
    with contextlib.redirect_stdout(sys.stderr):  # it prints its warnings; stdout is for our start lines
        ort.preload_dlls()
    import ctranslate2

    count = ctranslate2.get_cuda_device_count()
    if count <= index:
        return f"CTranslate2 sees {count} CUDA device{'' if count == 1 else 's'}"
    return onnx_session_problem(index)


def onnx_session_problem(index: int) -> str | None:
    """Open a one-node session on GPU `index`: the provider being listed does not mean CUDA and cuDNN load."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            _IDENTITY_GRAPH, options, providers=[("CUDAExecutionProvider", {"device_id": index})]
        )
    except Exception as exc:  # onnxruntime raises its own error classes (or RuntimeError) for a missing library
        return f"onnxruntime could not open a CUDA session on GPU {index}: {str(exc).splitlines()[0]}"
    if session.get_providers()[0] != "CUDAExecutionProvider":
        fallback = session.get_providers()[0]
        return f"onnxruntime fell back to {fallback} for GPU {index} (CUDA or cuDNN libraries missing?)"
    return None


def _onnx_field(number: int, payload: bytes | int) -> bytes:
    """One protobuf field: a varint or a length-delimited payload (enough to write a one-node ONNX model)."""
    if isinstance(payload, int):
        return bytes([number << 3]) + _varint(payload)
    return bytes([number << 3 | 2]) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tensor_value(name: bytes) -> bytes:  # ValueInfoProto{name, type{tensor_type{elem_type=FLOAT, shape{dim{1}}}}}
    shape = _onnx_field(2, _onnx_field(1, _onnx_field(1, 1)))
    return _onnx_field(1, name) + _onnx_field(2, _onnx_field(1, _onnx_field(1, 1) + shape))


# ModelProto{ir_version=7, opset_import{version=13}, graph{node{x -> Identity -> y}, name, input x, output y}}
_IDENTITY_GRAPH = (
    _onnx_field(1, 7)
    + _onnx_field(8, _onnx_field(2, 13))
    + _onnx_field(
        7,
        _onnx_field(1, _onnx_field(1, b"x") + _onnx_field(2, b"y") + _onnx_field(4, b"Identity"))
        + _onnx_field(2, b"probe")
        + _onnx_field(11, _tensor_value(b"x"))
        + _onnx_field(12, _tensor_value(b"y")),
    )
)


@cache
def opencv_cuda_devices() -> int:
    """GPUs OpenCV's DNN can use (0 for PyPI's wheels, which are built without CUDA)."""
    import cv2

    try:
        return cv2.cuda.getCudaEnabledDeviceCount()
    except cv2.error:
        return 0


@cache
def dlib_has_cuda() -> bool:
    try:
        import dlib
    except ImportError:
        return False
    return bool(dlib.DLIB_USE_CUDA)  # dlib defines it in every build


def placement(device: Device, engine: str) -> str:
    """Where a model run by `engine` ("onnxruntime", "opencv", "dlib", "ctranslate2") really runs on `device`."""
    if device.kind == "cpu":
        return "cpu"
    if engine == "opencv" and opencv_cuda_devices() <= device.index:
        return "cpu (OpenCV without CUDA)"
    if engine == "dlib" and not dlib_has_cuda():
        return "cpu (dlib without CUDA)"
    return str(device)
