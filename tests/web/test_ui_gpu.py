"""The queue page's health view says where each model runs (LG_DEVICE), in a real browser against a real serve.

The session's server runs with the default LG_DEVICE=auto on this GPU-less machine: every model on the CPU, and the
reason (no usable GPU, and why) beside them.
"""

from __future__ import annotations

import pytest

import browser
from lookingglass.models.device import cuda_problem
from ui_session import SHOTS

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=f"no browser tests: {browser.missing()}")


def test_the_health_view_lists_each_models_device_and_why(ui, server):
    ui.goto(server.url + "/queue")
    models = ui.locator("#health-models")
    models.wait_for()

    text = models.inner_text()
    for name in ("retinaface", "yunet", "sface", "whisper"):
        assert name in text
    assert "LG_DEVICE=auto" in text
    if cuda_problem(0) is not None:
        assert "retinaface cpu" in text and "whisper cpu int8" in text
        assert "no usable GPU" in text
    ui.screenshot(path=str(SHOTS / "gpu-queue-health.png"), full_page=True)
