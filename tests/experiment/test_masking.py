"""The one masking function: passwords in userinfo, query strings, keyword strings and keys."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from harness.experiment import load_experiment
from harness.masking import mask_secrets
from harness.results.writer import RunWriter, new_run_dir


def test_userinfo_query_keyword_and_key_masked() -> None:
    assert mask_secrets("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert (mask_secrets("postgresql://u@127.0.0.1/shop?sslmode=disable&password=hunter2&x=1")
            == "postgresql://u@127.0.0.1/shop?sslmode=disable&password=***&x=1")
    assert mask_secrets("host=127.0.0.1 sslpassword=k3y dbname=shop") == \
        "host=127.0.0.1 sslpassword=*** dbname=shop"
    assert mask_secrets("  admin_token: 'abc'\n") == "  admin_token: '***'\n"
    assert mask_secrets({"admin_token": "abc", "max_token_age": "5s", "n": ["a=b"]}) == \
        {"admin_token": "***", "max_token_age": "5s", "n": ["a=b"]}
    assert mask_secrets("http://127.0.0.1:8000/x?page=2") == "http://127.0.0.1:8000/x?page=2"


def test_query_string_password_never_reaches_the_results(tmp_path: Path) -> None:
    secret = "hunter2-in-the-query"
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(textwrap.dedent(f"""
        name: masked
        target:
          kind: external
          base_url: http://127.0.0.1:8000
          toxiproxy_url: http://127.0.0.1:8474
          database_url: "postgresql://postgres@127.0.0.1:5432/shop?password={secret}"
        load: {{users: 1, duration: 2s, locustfile: {Path(__file__).parents[1] / 'runner' / 'tiny_locustfile.py'}}}
    """))
    experiment = load_experiment(exp_file)
    folder = new_run_dir(tmp_path / "out", "masked")
    writer = RunWriter(folder, "masked")
    try:
        writer.write_experiment(exp_file, experiment.resolved())
    finally:
        writer.close()
    written = json.loads((folder / "experiment.json").read_text())
    assert written["target"]["database_url"].endswith("?password=***")
    for path in (p for p in folder.rglob("*") if p.is_file()):
        assert secret not in path.read_text(), path.name
