"""Fault and fuzz probe of the installed tool (issue 14): hostile or careless input to the
CLI, REST, MCP and LangChain surfaces; prints tried / held per area.

A case *holds* when nothing hangs (timeouts), no traceback is printed or raised, no 5xx
is answered, and the answer is the right kind of refusal (see each area's rule below).
It runs against whatever ``hourlens`` this interpreter imports, so the same script gives
the figures before and after a change::

    python bench/fault_probe.py [--json OUT.json] [--schemathesis-examples 12]

Generated media only (``tests/media.py``); nothing outside a temporary folder is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from fault_probe_cli import (
    probe_home,
    probe_ids_cli,
    probe_inputs,
    probe_nonregular,
    probe_truncated,
    small_probe,
)
from fault_probe_common import Tally  # (each module imports it: sets the environment)
from fault_probe_media import make_media
from fault_probe_rest import rest_probe, schemathesis_probe
from fault_probe_tools import agent_probe, mcp_probe


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, default=None, help="Also write the tally as JSON.")
    p.add_argument("--schemathesis-examples", type=int, default=12)
    p.add_argument(
        "--st-python",
        default=sys.executable,
        help="Python with schemathesis installed (default: this one).",
    )
    p.add_argument("--skip", nargs="*", default=[], help="Areas to skip: cli rest mcp st")
    args = p.parse_args()
    logging.getLogger("hourlens").setLevel(logging.CRITICAL)
    t = Tally()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hourlens-probe-") as tmp:
        root = Path(tmp)
        from live_server import build_library

        m = make_media(root)
        lib_dir = build_library(root / "synthetic")
        roots = root / "roots"
        roots.mkdir()
        if "cli" not in args.skip:
            probe_nonregular(t, root)
            probe_inputs(t, root, m)
            probe_ids_cli(t, probe_home(t, root, m))
            probe_truncated(t, root, m)
            small_probe(t, root, m)
        if "rest" not in args.skip:
            rest_probe(t, lib_dir, roots)
        if "mcp" not in args.skip:
            with contextlib.redirect_stderr(io.StringIO()):
                mcp_probe(t, lib_dir)
            agent_probe(t, lib_dir)
        if "st" not in args.skip:
            schemathesis_probe(t, lib_dir, roots, args.schemathesis_examples, args.st_python)
    print(t.report())
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(t.areas, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
