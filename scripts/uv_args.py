#!/usr/bin/env python3
"""Translate pip's effective configuration into ``uv pip install`` arguments.

    python scripts/uv_args.py            # one argument a line (for ``mapfile``); exit 3
                                         # when a setting has no uv equivalent here

``scripts/setup.sh`` installs the stack with uv when it can, and it must use the same
package sources as pip would: the index, extra indexes, find-links folders, constraint
files, certificate bundle, timeout and trusted hosts that ``pip config list`` reports
(pip's config files and ``PIP_*`` variables, with pip's precedence: a ``PIP_*`` variable
over the ``[install]`` section over ``[global]``). uv's default is to stop at the first
index that has a package; ``--index-strategy unsafe-best-match`` makes it pick the best
version across all of them, as pip does. Lines of the form ``ENV NAME=VALUE`` are
environment variables for uv (``SSL_CERT_FILE``, ``UV_HTTP_TIMEOUT``). A setting this
script does not know (a proxy, a client certificate, ...) makes it exit with status 3 and
name it on stderr, so that setup falls back to pip rather than install from elsewhere.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable

# settings that change nothing about where packages come from or which are chosen
IGNORED = {
    "disable-pip-version-check",
    "no-warn-script-location",
    "progress-bar",
    "quiet",
    "verbose",
    "root-user-action",
    "no-color",
    "no-input",
    "no-python-version-warning",
    "cache-dir",
    "no-cache-dir",
    "require-virtualenv",
    "break-system-packages",
    "retries",
}
MULTI = {"extra-index-url", "find-links", "constraint", "trusted-host"}
# lower rank wins: PIP_* variables, then the install command's section, then [global]
RANK = {":env:": 0, "install": 1, "global": 2}


def parse_config_list(text: str) -> dict[str, str]:
    """pip's effective settings from ``pip config list`` output (``scope.key=repr(value)``).

    Args:
        text: The output of ``pip config list``.

    Returns:
        Each key's value from the scope pip gives precedence to (sections other than
        ``:env:``, ``install`` and ``global`` belong to other pip commands: skipped).
    """
    best: dict[str, tuple[int, str]] = {}
    for line in text.splitlines():
        name, sep, raw = line.partition("=")
        scope, dot, key = name.strip().rpartition(".")
        if not sep or not dot or scope not in RANK:
            continue
        value = raw.strip()
        try:  # pip prints repr(value): a newline in a multi-line setting is "\\n"
            literal = ast.literal_eval(value)
            value = literal if isinstance(literal, str) else value
        except (ValueError, SyntaxError):
            pass
        rank = RANK[scope]
        if key not in best or rank < best[key][0]:
            best[key] = (rank, value)
    return {k: v for k, (_, v) in best.items()}


def _values(value: str) -> list[str]:
    return value.split()  # as pip splits a list setting (spaces or newlines)


def uv_arguments(settings: dict[str, str]) -> tuple[list[str], dict[str, str], list[str]]:
    """``uv pip install`` arguments and environment for pip's settings.

    Args:
        settings: pip's effective settings (see :func:`parse_config_list`).

    Returns:
        ``(arguments, environment, unknown settings)``; the unknown ones have no uv
        equivalent here, and uv should then not be used.
    """
    args = ["--index-strategy", "unsafe-best-match"]
    env: dict[str, str] = {}
    unknown: list[str] = []
    flag = {
        "extra-index-url": "--extra-index-url",
        "find-links": "--find-links",
        "constraint": "--constraint",
        "trusted-host": "--allow-insecure-host",
    }
    for key, value in sorted(settings.items()):
        if key in IGNORED:
            continue
        if key in MULTI:
            for v in _values(value):
                args += [flag[key], v]
        elif key in ("index-url", "i"):
            args += ["--index-url", value]
        elif key == "no-index":
            if value.strip().lower() in ("1", "true", "yes", "on"):
                args.append("--no-index")
        elif key == "cert":
            env["SSL_CERT_FILE"] = value
        elif key in ("timeout", "default-timeout"):
            env["UV_HTTP_TIMEOUT"] = value
        else:
            unknown.append(key)
    return args, env, unknown


def lines(args: Iterable[str], env: dict[str, str]) -> list[str]:
    """One uv argument a line, then ``ENV NAME=VALUE`` lines."""
    return [*args, *(f"ENV {k}={v}" for k, v in sorted(env.items()))]


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(f"pip config list failed: {out.stderr.strip()[-200:]}", file=sys.stderr)
        return 3
    args, env, unknown = uv_arguments(parse_config_list(out.stdout))
    if unknown:
        print(f"pip settings without a uv equivalent: {', '.join(unknown)}", file=sys.stderr)
        return 3
    print("\n".join(lines(args, env)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
