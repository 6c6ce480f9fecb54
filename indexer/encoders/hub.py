"""Whether hub-hosted weights are cached or can be downloaded now (no torch, no open_clip)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence


def cached_checkpoint(hub_file: tuple[str, Sequence[str]] | None) -> str | None:
    """Local path of hub-hosted weights, if already in the Hugging Face cache.

    Args:
        hub_file: ``(repo_id, file_names)`` as from :func:`tag_hub_file`.

    Returns:
        The first cached file's path, or None.
    """
    if hub_file is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    repo_id, names = hub_file
    for name in names:
        path = try_to_load_from_cache(repo_id, name)
        if isinstance(path, str) and os.path.isfile(path):
            return path
    return None


def hub_reachable(
    hub_file: tuple[str, Sequence[str]] | None, timeout: float = 3.0
) -> tuple[bool, str]:
    """Check quickly whether hub-hosted weights can be downloaded now.

    The probe runs in a daemon thread joined with ``timeout``, so a hanging DNS lookup or
    connection cannot stall the caller.

    Returns:
        ``(ok, reason)``; ``reason`` says why not when ``ok`` is False.
    """
    if hub_file is None:
        return False, "the weights are not hosted on the Hugging Face hub"
    from huggingface_hub import constants, hf_hub_url
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true"}:
        return False, "HF_HUB_OFFLINE is set"
    repo_id, names = hub_file
    url = hf_hub_url(repo_id, names[-1])
    result: list[str] = []

    def probe() -> None:  # one HEAD request: huggingface_hub's own helpers retry for ~30 s
        try:
            response = get_session().head(url, timeout=timeout, allow_redirects=False)
            ok = response.status_code < 400
            result.append("" if ok else f"HTTP {response.status_code} for {url}")
        except Exception as exc:  # any failure means "not reachable"
            result.append(type(exc).__name__)

    thread = threading.Thread(target=probe, name="hourlens-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    if not result:
        return False, f"the Hugging Face hub did not answer within {timeout:g} s"
    if result[0]:
        return False, f"the Hugging Face hub is not reachable ({result[0]})"
    return True, ""
