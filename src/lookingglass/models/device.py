"""The execution device, chosen in one place; each runtime's own way of saying it is derived from that choice.

"cpu" is what runs today. "cuda" (or "cuda:N") asks for a GPU and is refused with one clear error when none is
usable, never quietly run on the CPU; "auto" takes the GPU when it is usable and the CPU otherwise. A later
LG_DEVICE setting only has to pass its value to `resolve_device`.

What each runtime does on a GPU: onnxruntime (RetinaFace, SFace) uses its CUDA provider; CTranslate2 (Whisper) runs
int8_float16 on the GPU; OpenCV's DNN (YuNet) uses its CUDA backend only when this OpenCV was built with CUDA
(PyPI's wheels are not: the small int8 graph stays on the CPU); dlib and spaCy run on the CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lookingglass.errors import BadInput, DeviceUnavailable

CHOICES = ("auto", "cpu", "cuda", "cuda:N")
_CUDA = re.compile(r"cuda(?::(\d+))?")


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "cuda"
    index: int = 0

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

        if self.kind == "cuda" and cv2.cuda.getCudaEnabledDeviceCount() > self.index:
            return cv2.dnn.DNN_BACKEND_CUDA, cv2.dnn.DNN_TARGET_CUDA
        return cv2.dnn.DNN_BACKEND_DEFAULT, cv2.dnn.DNN_TARGET_CPU

    @property
    def whisper(self) -> tuple[str, int, str]:
        """CTranslate2's (device, device_index, default compute_type) for faster-whisper."""
        if self.kind == "cuda":
            return "cuda", self.index, "int8_float16"
        return "cpu", 0, "int8"


CPU = Device("cpu")


def resolve_device(requested: str | Device = "cpu") -> Device:
    """The device to run on: "cpu", "cuda[:N]" (refused when not usable) or "auto" (the GPU when usable)."""
    if isinstance(requested, Device):
        return requested
    wanted = requested.strip().lower()
    if wanted == "cpu":
        return CPU
    if wanted == "auto":
        return Device("cuda", 0) if cuda_problem(0) is None else CPU
    match = _CUDA.fullmatch(wanted)
    if match is None:
        raise BadInput(f"unknown execution device {requested!r}; choose one of {', '.join(CHOICES)}")
    index = int(match.group(1) or 0)
    problem = cuda_problem(index)
    if problem is not None:
        raise DeviceUnavailable(f"execution device '{wanted}' is not usable here: {problem}; use 'cpu' or 'auto'")
    return Device("cuda", index)


@cache
def cuda_problem(index: int = 0) -> str | None:
    """Why GPU `index` cannot run our models, or None when it can (the detector's and Whisper's runtimes see it)."""
    import onnxruntime as ort

    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        return (
            f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (it has {', '.join(providers)};"
            " onnxruntime-gpu has it)"
        )
    import ctranslate2

    count = ctranslate2.get_cuda_device_count()
    if count <= index:
        return f"CTranslate2 sees {count} CUDA device{'' if count == 1 else 's'}"
    return None
