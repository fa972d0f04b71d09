"""The installation's own operations and commands: queue stats as the operation describes them (on RQ too), the data
dir's upkeep refused while `serve` owns it, the process commands' flags, and shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cli_process import run_cli
from conftest import authorized_client
from lookingglass.errors import BadInput
from serve_process import running_serve


def not_an_image(name: str) -> None:
    raise BadInput(f"{name} is not an image")


def test_queue_stats_on_rq_match_the_described_answer(app, admin_headers, tmp_path):
    """The RQ backend reports more per worker than the in-process one (queues, heartbeat, job counts) and keeps
    failures with their reasons: the route's answer is checked against the generated description (conftest)."""
    from rq import Worker

    from lookingglass.pipeline.queue import RQQueue
    from lookingglass.pipeline.worker import LookingGlassWorker
    from redis_server import RedisServer, redis_available

    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    inline, app.queue = app.queue, RQQueue(server.url)
    try:
        app.queue.enqueue("faces", not_an_image, "stats.jpg")
        LookingGlassWorker(["faces"], connection=app.queue.connection).work(burst=True, logging_level="WARNING")
        idle = Worker(["faces", "video"], connection=app.queue.connection, name="idle-worker")
        idle.register_birth()

        response = authorized_client(app, admin_headers).get("/queue/stats")
    finally:
        app.queue.close()
        app.queue = inline
        server.stop()

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["backend"] == "rq" and body["queues"]["faces"]["failed"] == 1
    assert "stats.jpg is not an image" in body["failed"][0]["reason"]
    (worker,) = body["workers"]
    assert worker["name"] == "idle-worker" and worker["queues"] == ["faces", "video"]


def test_health_answers_the_same_here_and_through_serve(tmp_path):
    data = tmp_path / "data"
    here = run_cli(data, "health", "--json")
    with running_serve(data, tmp_path / "serve.log"):
        through_serve = run_cli(data, "health", "--json")
        as_text = run_cli(data, "health")

    assert here.returncode == through_serve.returncode == as_text.returncode == 0, here.stderr + through_serve.stderr
    here, through_serve = json.loads(here.stdout), json.loads(through_serve.stdout)
    assert here["ok"] is through_serve["ok"] is True
    assert set(here["backends"]) == set(through_serve["backends"]) >= {"objects", "queue", "faces", "text", "graph"}
    assert through_serve["backends"]["faces"]["collection"] == here["backends"]["faces"]["collection"]
    assert "ok    faces" in as_text.stdout and as_text.stdout.rstrip().endswith(f"(embedder {here['embedder']})")


def test_check_and_rebuild_index_refuse_while_serve_owns_the_data_dir(tmp_path):
    data = tmp_path / "data"
    with running_serve(data, tmp_path / "serve.log"):
        check = run_cli(data, "check", "--json")
        rebuild = run_cli(data, "rebuild-index", "--quiet")

    for result, command in ((check, "check"), (rebuild, "rebuild-index")):
        assert result.returncode == 6, result.stderr
        assert f"stop it first, then run `lookingglass {command}`" in result.stderr
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1


def test_process_commands_keep_their_flags_and_refuse_clearly(tmp_path):
    unreachable = {"REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1

    worker_check = run_cli(tmp_path / "data", "worker", "--check", env=unreachable, timeout=60)
    scheduler = run_cli(tmp_path / "data", "scheduler", "--check", env={"REDIS_URL": ""}, timeout=60)
    crawl = run_cli(tmp_path / "data", "crawl", "https://example.org/", "--max-pages", "0", timeout=60)
    render = run_cli(tmp_path / "data", "crawl", "--render", "sometimes", "https://example.org/", timeout=60)

    assert worker_check.returncode == 1 and "Redis unreachable" in worker_check.stderr
    assert scheduler.returncode == 2 and "needs REDIS_URL" in scheduler.stderr
    assert crawl.returncode == 2 and "--max-pages" in crawl.stderr
    assert render.returncode == 2 and "--render" in render.stderr
    assert not (tmp_path / "data" / "audit.sqlite3").exists()  # refused before anything was opened


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(tmp_path, shell):
    result = run_cli(tmp_path / "data", "completion", shell, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "_LOOKINGGLASS_COMPLETE" in result.stdout and f"{shell}_complete" in result.stdout


def test_the_completion_script_completes_command_names_and_options(tmp_path):
    """What the bash script asks the program when Tab is pressed after `lookingglass reb` / `crawl --ma`."""

    def complete(words: str) -> str:
        env = {
            **os.environ,
            "_LOOKINGGLASS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        return subprocess.run(
            [sys.executable, "-m", "lookingglass.cli"], env=env, capture_output=True, text=True, timeout=60
        ).stdout

    assert complete("lookingglass reb").split() == ["plain,rebuild-index"]
    assert set(complete("lookingglass crawl --max").split()) == {
        "plain,--max-pages",
        "plain,--max-objects",
        "plain,--max-bytes",
    }
