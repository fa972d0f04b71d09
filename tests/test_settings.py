"""Settings are read and checked once: a bad value is one line naming the variable, exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from cli_process import run_cli
from lookingglass.errors import BadInput
from lookingglass.settings import Settings


def test_values_come_typed_from_the_environment():
    settings = Settings.from_env(
        {
            "LG_TOP_K": "5",
            "LG_MATCH_THRESHOLD": "0.4",
            "LG_EMBEDDER": "DLIB",
            "LG_SECURE_COOKIES": "yes",
            "LG_CRAWL_ALLOW_PRIVATE": "10.0.0.0/8, intranet.example",
            "MINIO_ENDPOINT": "minio:9000",
            "NEO4J_HOST": "graph",
            "NEO4J_AUTH": "neo4j/secret",
        }
    )

    assert settings.top_k == 5 and settings.match_threshold == 0.4 and settings.embedder == "dlib"
    assert settings.secure_cookies is True
    assert settings.crawl_allow_private == ("10.0.0.0/8", "intranet.example")
    assert settings.s3_endpoint == "http://minio:9000"
    assert settings.neo4j_uri == "bolt://graph:7687" and settings.neo4j_auth == ("neo4j", "secret")


def test_an_empty_environment_gives_the_documented_defaults():
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "accepts"),
    [
        ("LG_TOP_K", "ten", "a whole number from 1 to 1000"),
        ("LG_TOP_K", "0", "a whole number from 1 to 1000"),
        ("LG_EMBEDDER", "arcface", "sface or dlib"),
        ("LG_MATCH_THRESHOLD", "nan", "a cosine similarity from -1 to 1"),
        ("LG_PORT", "70000", "a port number"),
        ("LG_SECURE_COOKIES", "maybe", "true or false"),
        ("LG_LOOKUP_RATE", "lots", "like 60/minute"),
        ("CRAWL_MODE", "everything", "image, page or all"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_it_accepts(variable, value, accepts):
    with pytest.raises(BadInput) as caught:
        Settings.from_env({variable: value})

    assert caught.value.message.startswith(f"{variable}='{value}' is not valid")
    assert accepts in caught.value.message


def test_a_bad_secret_is_named_but_never_printed():
    with pytest.raises(BadInput) as caught:
        Settings.from_env({"NEO4J_AUTH": "only-a-password-hunter2"})

    assert "NEO4J_AUTH" in caught.value.message and "hunter2" not in caught.value.message


def test_the_cli_says_one_line_and_exits_2_on_a_bad_setting(tmp_path):
    result = run_cli(tmp_path / "data", "lookup", "x.jpg", env={"LG_TOP_K": "ten"})

    assert result.returncode == 2
    assert result.stderr.strip() == "lookingglass: LG_TOP_K='ten' is not valid: expected a whole number from 1 to 1000"
    assert "Traceback" not in result.stderr


def test_config_prints_the_effective_values_with_secrets_masked(tmp_path):
    env = {"LG_TOP_K": "7", "REDIS_URL": "redis://:hunter2@queue:6379/0", "LG_ADMIN_PASSWORD": "hunter2"}

    text = run_cli(tmp_path / "data", "config", env=env)
    as_json = run_cli(tmp_path / "data", "config", "--json", env=env)

    assert text.returncode == 0 and "hunter2" not in text.stdout + as_json.stdout
    assert "LG_TOP_K" in text.stdout and "redis://:***@queue:6379/0" in text.stdout
    values = __import__("json").loads(as_json.stdout)
    assert values["LG_TOP_K"] == "7" and values["LG_ADMIN_PASSWORD"] == "***"
    assert values["LG_DATA_DIR"] == str(tmp_path / "data")
