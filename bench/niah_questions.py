"""Question sets of ``bench/niah.py``: other wordings over rounds, and their summary.

A questions file (``--questions FILE``) is a JSONL of ``{"id", "question"}`` whose ids are
the manifest's; an id may occur several times: its k-th occurrence is asked in round k,
and each round is scored on its own against the same manifest. Nothing here loads a
model or runs the scorer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from niah_report import _f, percentile


def load_rounds(path: Path, manifest: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The rounds of a questions file: manifest questions whose ``prompt`` is reworded.

    Args:
        path: The JSONL file.
        manifest: The niah manifest its ids belong to.

    Returns:
        One list per round (round k holds the k-th occurrence of every id), in file order.

    Raises:
        SystemExit: A line is not a JSON object with a known ``id`` and a non-empty
            ``question`` (the message names the line).
    """
    by_id = {q["id"]: q for q in manifest["questions"]}
    seen: dict[str, int] = {}
    rounds: list[list[dict[str, Any]]] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{where}: not JSON ({e.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
                raise SystemExit(f'{where}: expected {{"id": ..., "question": "..."}}')
            qid, text = str(obj.get("id")), obj["question"].strip()
            if qid not in by_id:
                raise SystemExit(f"{where}: id {qid!r} is not a question of the manifest")
            if not text:
                raise SystemExit(f"{where}: empty question for {qid}")
            k = seen.get(qid, 0)
            seen[qid] = k + 1
            while len(rounds) <= k:
                rounds.append([])
            rounds[k].append({**by_id[qid], "prompt": text, "template": obj.get("template")})
    if not rounds:
        raise SystemExit(f"{path}: no questions")
    return rounds


def select(
    questions: list[dict[str, Any]], limit: int | None, types: str | None
) -> list[dict[str, Any]]:
    """Only the questions of ``types`` (comma list), then the first ``limit`` of them."""
    qs = questions
    if types:
        wanted = set(types.split(","))
        qs = [q for q in qs if q["type"] in wanted]
    return qs[:limit] if limit else qs


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def summarise(
    round_scores: Sequence[dict[str, Any]], latencies: Sequence[tuple[str, float]]
) -> dict[str, Any]:
    """One variant over its rounds: the mean of the rounds' figures, pooled latencies.

    Args:
        round_scores: The scorer's JSON summary of each round.
        latencies: ``(question type, seconds)`` of every question asked, all rounds.

    Returns:
        ``grounding_hit`` and ``answer_correct`` (means over rounds), ``rounds`` (each
        round's overall figures), ``per_type`` (per type: ``n`` questions asked, mean
        ``grounding_hit`` / ``answer_correct`` over the rounds holding that type,
        ``p50_s``, ``p95_s``) and overall ``p50_s`` / ``p95_s``.
    """
    per_type: dict[str, dict[str, Any]] = {}
    for sc in round_scores:
        for name, t in (sc.get("per_type") or {}).items():
            d = per_type.setdefault(name, {"g": [], "a": []})
            d["g"].append(t["grounding_hit"])
            d["a"].append(t["answer_correct"])
    by_type: dict[str, list[float]] = {}
    for name, sec in latencies:
        by_type.setdefault(name, []).append(sec)
    out_types = {
        name: {
            "n": len(by_type.get(name, [])),
            "grounding_hit": _mean(d["g"]),
            "answer_correct": _mean(d["a"]),
            "p50_s": percentile(by_type.get(name, []), 50),
            "p95_s": percentile(by_type.get(name, []), 95),
        }
        for name, d in sorted(per_type.items())
    }
    secs = [s for _, s in latencies]
    return {
        "grounding_hit": _mean([sc["grounding_hit"] for sc in round_scores]),
        "answer_correct": _mean([sc["answer_correct"] for sc in round_scores]),
        "rounds": [
            {
                "round": k,
                "n": sc.get("n_questions"),
                "grounding_hit": sc.get("grounding_hit"),
                "answer_correct": sc.get("answer_correct"),
            }
            for k, sc in enumerate(round_scores, 1)
        ],
        "per_type": out_types,
        "p50_s": percentile(secs, 50),
        "p95_s": percentile(secs, 95),
    }


def format_type_table(summary: dict[str, Any]) -> str:
    """Per type: questions asked, grounding, answers (means over rounds), p50, p95."""
    head = f"{'type':<14} {'n':>4} {'ground':>7} {'answers':>7} {'p50 s':>7} {'p95 s':>7}"
    out = [head, "-" * len(head)]
    for name, t in summary["per_type"].items():
        out.append(
            f"{name:<14} {t['n']:>4} {_f(t['grounding_hit']):>7} {_f(t['answer_correct']):>7} "
            f"{_f(t['p50_s'], 1):>7} {_f(t['p95_s'], 1):>7}"
        )
    return "\n".join(out)


def format_rounds(summary: dict[str, Any]) -> str:
    """Each round's overall figures on one line."""
    return "  ".join(
        f"r{r['round']}: {_f(r['grounding_hit'])}/{_f(r['answer_correct'])}"
        for r in summary["rounds"]
    )
