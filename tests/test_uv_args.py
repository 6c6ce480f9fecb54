"""scripts/uv_args.py: uv installs from the same package sources pip is configured with."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "uv_args.py"

spec = importlib.util.spec_from_file_location("uv_args", SCRIPT)
assert spec is not None and spec.loader is not None
uv_args = importlib.util.module_from_spec(spec)
spec.loader.exec_module(uv_args)


def test_pip_precedence_env_over_install_over_global():
    text = "\n".join(
        [
            "global.find-links='/opt/a'",
            "global.index-url='https://global.example/simple'",
            "install.index-url='https://install.example/simple'",
            ":env:.find-links='/opt/b /opt/c'",
            "download.extra-index-url='https://only-for-pip-download.example'",
            'global.cert="/etc/ssl/ca.pem"',
            "global.extra-index-url='file:///a/simple\\nfile:///b/simple'",
            "malformed line",
        ]
    )
    got = uv_args.parse_config_list(text)
    assert got == {
        "find-links": "/opt/b /opt/c",
        "index-url": "https://install.example/simple",
        "cert": "/etc/ssl/ca.pem",
        "extra-index-url": "file:///a/simple\nfile:///b/simple",
    }
    args, _, _ = uv_args.uv_arguments({"extra-index-url": got["extra-index-url"]})
    assert args[2:] == [
        "--extra-index-url",
        "file:///a/simple",
        "--extra-index-url",
        "file:///b/simple",
    ]


def test_uv_arguments_mirror_pip_settings():
    args, env, unknown = uv_args.uv_arguments(
        {
            "extra-index-url": "file:///opt/x/simple file:///opt/y/simple",
            "find-links": "/opt/wheels",
            "constraint": "/etc/c.txt",
            "index-url": "https://mirror.example/simple",
            "trusted-host": "mirror.example",
            "cert": "/etc/ssl/ca.pem",
            "default-timeout": "180",
            "disable-pip-version-check": "1",
            "no-index": "false",
        }
    )
    assert unknown == []
    assert args[:2] == ["--index-strategy", "unsafe-best-match"]  # pip's best-version choice
    pairs = list(zip(args[2::2], args[3::2], strict=True))
    assert ("--extra-index-url", "file:///opt/x/simple") in pairs
    assert ("--extra-index-url", "file:///opt/y/simple") in pairs
    assert ("--find-links", "/opt/wheels") in pairs
    assert ("--constraint", "/etc/c.txt") in pairs
    assert ("--index-url", "https://mirror.example/simple") in pairs
    assert ("--allow-insecure-host", "mirror.example") in pairs
    assert "--no-index" not in args
    assert env == {"SSL_CERT_FILE": "/etc/ssl/ca.pem", "UV_HTTP_TIMEOUT": "180"}
    assert uv_args.lines(["-a"], env) == [
        "-a",
        "ENV SSL_CERT_FILE=/etc/ssl/ca.pem",
        "ENV UV_HTTP_TIMEOUT=180",
    ]


def test_unknown_setting_is_reported():
    _, _, unknown = uv_args.uv_arguments({"proxy": "http://proxy:3128", "no-index": "1"})
    assert unknown == ["proxy"]


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
    )


def test_script_reads_pips_own_configuration(tmp_path):
    wheels = tmp_path / "wheels"
    out = _run(PIP_FIND_LINKS=str(wheels), PIP_EXTRA_INDEX_URL="file:///srv/simple\nfile:///s2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    pairs = list(zip(lines, lines[1:], strict=False))
    assert ("--find-links", str(wheels)) in pairs
    assert ("--extra-index-url", "file:///srv/simple") in pairs
    assert ("--extra-index-url", "file:///s2") in pairs


def test_script_refuses_a_setting_it_cannot_translate():
    out = _run(PIP_PROXY="http://127.0.0.1:9")
    assert out.returncode == 3
    assert "proxy" in out.stderr
    assert out.stdout == ""
