"""Ports hide their adapters: `app.py` picks them, and no other module asks which one it got.

The App's wiring (accounts and audit built like every other store; a port an App lacks fails with one clear error)
and a check over src/ that nothing outside app.py branches on an adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lookingglass.app import build, build_accounts, build_worker
from lookingglass.errors import Unavailable
from lookingglass.stores.private.accounts import AccountStore
from lookingglass.stores.private.audit import AuditLog

PASSWORD = "a long enough passphrase"
SRC = Path(__file__).resolve().parent.parent / "src" / "lookingglass"


def test_build_opens_the_account_and_audit_stores_like_every_other_store(settings):
    app = build(settings)
    try:
        assert isinstance(app.accounts, AccountStore) and isinstance(app.audit, AuditLog)
        app.accounts.add_user("ada", PASSWORD, "admin")
        app.audit.record("ada", "admin", "search", query="x")

        assert [u.username for u in AccountStore.open(settings.data_dir).users()] == ["ada"]  # the data dir's files
        assert [e.action for e in AuditLog.open(settings.data_dir).entries()] == ["search"]
    finally:
        app.close()


def test_the_admin_app_opens_only_accounts_and_audit_and_says_so_when_asked_for_more(settings):
    admin = build_accounts(settings)
    owner = build(settings)  # no data-dir lock taken: users can be managed beside whatever owns the data dir
    try:
        admin.accounts.add_user("ada", PASSWORD, "admin")
        assert [u.username for u in owner.accounts.users()] == ["ada"]
        assert admin.audit.entries() == []

        with pytest.raises(Unavailable, match=r"no object store here .* account and audit files"):
            admin.objects.get("0" * 64)
        with pytest.raises(Unavailable, match="no queue here"):
            admin.queue.stats()
        assert admin.faces is None and admin.graph is None  # optional stores: absent as None, as everywhere
    finally:
        admin.close()  # closes what it holds, and nothing it does not
        owner.close()


def test_a_worker_app_has_no_account_files_and_says_why(settings, tmp_path):
    from redis_server import RedisServer, redis_available

    if not redis_available():
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    worker = build_worker(settings.with_(redis_url=server.url))
    try:
        with pytest.raises(Unavailable, match=r"no account store here .* a worker computes"):
            worker.accounts.users()
        with pytest.raises(Unavailable, match="no audit log here"):
            worker.audit.record("x", "admin", "search")
        assert worker.queue.runs_here is False
    finally:
        worker.close()
        server.stop()


# --- Nothing outside app.py asks which adapter it holds.

PORTS = {"objects", "faces", "optout", "text", "graph", "queue", "accounts", "audit"}
ADAPTERS = {
    "LocalObjectStore",
    "S3ObjectStore",
    "EdgeVectorIndex",
    "QdrantServerIndex",
    "EdgeTextIndex",
    "QdrantServerTextIndex",
    "SqliteGraphStore",
    "Neo4jGraphStore",
    "InlineQueue",
    "RQQueue",
}
# getattr/hasattr that read an attribute by name for reasons other than telling adapters apart, as
# (the object, the attribute) in source form. A new one goes here once it is clear it is no adapter probe.
NOT_PROBES = {
    ("self.client.meta", "'endpoint_url'"),  # boto3's client: which endpoint, for messages
    ("self.client.meta", "'region_name'"),
    ("self.client", "op"),  # boto3: the operation by name
    ("vectors", "'size'"),  # qdrant-client's vector config: one unnamed vector or several named ones
    ("error", "'sqlite_errorname'"),  # sqlite3 errors carry it from Python 3.11
    ("client", "'init_options'"),  # qdrant-client: where it points, for messages
    ("exc", "'message'"),  # our errors carry a message, others a str()
    ("exc", "'retry_after'"),  # RateLimited and Unavailable may carry one
    ("exc", "'code'"),
    ("self", "name"),  # records and options reading their own fields
    ("self", "k"),
    ("self", "f.name"),
    ("self", "'state'"),  # Scrapy sets a spider's state only with JOBDIR
    ("face", "'embedding'"),  # the library's compare(): a Face or a bare vector
    ("importlib.import_module(module)", "name"),  # a job function by its dotted path
    ("module", "attribute"),  # a model file inside a pinned package
    ("frame", "'sample_aspect_ratio'"),  # PyAV frames have it from some versions on
    ("robotparser", "'crawl_delay'"),
    ("item", "'url'"),  # crawler items of several kinds
}


def adapter_questions(path: Path, tree: ast.AST) -> list[str]:
    """Each place in one module that asks which adapter it holds, as `file:line: what`."""
    where = path.relative_to(SRC).as_posix()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        lineno = getattr(node, "lineno", 0)
        line = f"{where}:{lineno}"
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Attribute) and side.attr == "backend":
                    found.append((lineno, f"{line}: compares {ast.unparse(side)}"))
        elif isinstance(node, ast.Attribute) and node.attr == "connection":
            if isinstance(node.value, ast.Attribute) and node.value.attr in PORTS:
                found.append((lineno, f"{line}: reaches into {ast.unparse(node)}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name, args = node.func.id, node.args
            if name in ("getattr", "hasattr") and len(args) >= 2:
                target, attribute = ast.unparse(args[0]), ast.unparse(args[1])
                if (target, attribute) not in NOT_PROBES:
                    found.append((lineno, f"{line}: probes {name}({target}, {attribute})"))
            elif name == "isinstance" and len(args) == 2 and not where.startswith("stores/"):
                named = {n.id for n in ast.walk(args[1]) if isinstance(n, ast.Name)}
                if named & ADAPTERS:
                    found.append((lineno, f"{line}: tests isinstance(..., {ast.unparse(args[1])})"))
    return [question for _, question in sorted(found)]


def test_no_module_but_app_py_asks_which_adapter_it_holds():
    questions = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).as_posix() in ("app.py", "settings.py"):  # settings: reads its own fields by name
            continue
        questions += adapter_questions(path, ast.parse(path.read_text(), filename=str(path)))

    assert questions == [], "ask the port instead (docs/architecture.md, Ports):\n" + "\n".join(questions)


def test_the_check_finds_each_kind_of_adapter_question(tmp_path):
    source = """
if app.queue.backend == "inline": pass
worker = Worker(connection=app.queue.connection)
optimize = getattr(app.faces, "optimize_aside", None)
local = isinstance(app.objects, LocalObjectStore)
"""
    found = adapter_questions(SRC / "services" / "example.py", ast.parse(source))

    assert [q.split(": ", 1)[1].split(" ")[0] for q in found] == ["compares", "reaches", "probes", "tests"]
