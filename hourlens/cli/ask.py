"""``hourlens ask`` and ``hourlens chat``: questions about indexed videos, with citations.

Wire into the main group with :func:`register`. Embedding applications and tests may put
a ready ``"llm"`` (an object with ``complete_json``) and ``"agent_models"`` (a
:class:`hourlens.agent.Models`) into the click context object to skip model loading.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from ..errors import HourlensError
from ..timefmt import fmt_span
from ..types import Answer, Step

_QUESTION_HELP = """
\b
Ask in your own words. The planner reads the question into a typed plan (intent,
memories, targets, times) in code, or with the LLM when the wording is unusual:
  "What is said / written / shown at 12:34?" (or "1 hour 2 minutes in")   lookup by time
  'When does the narrator say "..."?', "Find the moment the slide says ..."  phrase search
  "I'm looking for the red motorcycle: when does it appear?"  visual retrieval
  "Is the cat or the rocket shown first?"       each option retrieved, times compared
  "Count the times the narrator says 'rocket'"  counted in the transcript
  "Is there a cat in it?", "How long is the rocket on screen?"   yes/no, duration
  "What is this video about?", "Summarise 10:00-15:00"          overview, range
  "And 30 seconds later?" (in chat)             relative to the previous answer
Times, options and counts come from the evidence; when nothing supports an answer it
says so and cites the closest moments. --trace shows the plan and every step.
"""


def _config(llm: str | None, vlm: str | None, budget: int | None) -> Any:
    from ..agent import AgentConfig
    from ..config import from_env

    return from_env(AgentConfig, llm=llm, vlm=vlm, max_backtracks=budget)


def _split_args(args: tuple[str, ...], all_videos: bool) -> tuple[str | None, str]:
    if all_videos:
        if len(args) != 1:
            raise click.UsageError("with --all, give only the QUESTION (quote it).")
        return None, args[0]
    if len(args) != 2:
        raise click.UsageError("give VIDEO and QUESTION (quote the question), or --all QUESTION.")
    return args[0], args[1]


def _trace_printer(step: Step) -> None:
    click.echo(f"  · {step.node:<9} {step.seconds:6.2f}s  {step.detail}", err=True)


def _citations_text(ans: Answer, *, show_video: bool) -> str:
    parts = []
    for c in ans.citations:
        name = f"{os.path.basename(c.video)} " if show_video else ""
        parts.append(f"{name}{fmt_span(c.start, c.end)}")
    return " ".join(parts)


def _print_answer(ans: Answer, *, show_video: bool) -> None:
    cites = _citations_text(ans, show_video=show_video)
    click.echo(f"{ans.answer} {cites}".rstrip())
    click.echo(f"(confidence {ans.confidence:.2f})", err=True)


def _prepare(
    ctx: click.Context, video: str | None, llm: str | None, vlm: str | None, budget: int | None
) -> tuple[Any, list[Any], Any, Any, Any]:
    from ..agent.graph import load_agent_llm
    from ..ask import resolve_videos
    from . import _library

    store = _library(ctx).store
    videos = resolve_videos(store, video)
    config = _config(llm, vlm, budget)
    model = ctx.obj.get("llm")
    if model is None:
        model = load_agent_llm(config.llm)
    return store, videos, config, model, ctx.obj.get("agent_models")


_common = [
    click.option(
        "--all",
        "all_videos",
        is_flag=True,
        help="Ask across every indexed video instead of one VIDEO.",
    ),
    click.option("--trace", is_flag=True, help="Print the agent's steps on stderr as they run."),
    click.option(
        "--llm",
        default=None,
        help="LLM spec [default: auto = packaged offline model; none = no LLM; env HOURLENS_LLM].",
    ),
    click.option(
        "--vlm",
        default=None,
        help="Video LMM: Hugging Face id/path, or openai:MODEL@http://host:port/v1 "
        "(OpenAI-compatible server) [env HOURLENS_VLM].",
    ),
    click.option(
        "--budget",
        type=click.IntRange(0, 10),
        default=None,
        help="Backtracking rounds before answering [default: 2, env HOURLENS_MAX_BACKTRACKS].",
    ),
]


def _with_common(fn: Any) -> Any:
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


@click.command("ask", epilog=_QUESTION_HELP)
@click.argument("args", nargs=-1, required=True, metavar="VIDEO QUESTION")
@_with_common
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object: {"answer", "confidence", "citations": [{"video", '
    '"start", "end", "kind"}], "steps": [{"node", "detail", "seconds"}]}.',
)
@click.pass_context
def ask_cmd(
    ctx: click.Context,
    args: tuple[str, ...],
    all_videos: bool,
    trace: bool,
    llm: str | None,
    vlm: str | None,
    budget: int | None,
    as_json: bool,
) -> None:
    """Answer QUESTION about VIDEO, citing the time ranges the answer rests on.

    VIDEO is a path, a file name or an id from `hourlens list`; `--all QUESTION` asks
    across the whole library. The answer is printed with [MM:SS–MM:SS] citations (and
    the confidence on stderr); --json prints one JSON object instead.
    """
    from ..ask import ask_video

    video, question = _split_args(args, all_videos)
    if not question.strip():
        raise click.UsageError("QUESTION is empty.")
    store, videos, config, model, models = _prepare(ctx, video, llm, vlm, budget)
    ans = ask_video(
        store,
        question,
        video=videos[0] if len(videos) == 1 and video is not None else None,
        llm=model,
        config=config,
        models=models,
        on_step=_trace_printer if trace else None,
    )
    if as_json:
        click.echo(json.dumps(ans.to_dict(), ensure_ascii=False))
    else:
        _print_answer(ans, show_video=len(videos) > 1)


_CHAT_HELP = """\
Ask anything about the video; follow-ups ("and right after that?") use the previous answer.
Commands: /trace (toggle steps), /clear (forget the conversation), /quit.
Ctrl-C cancels the current question, Ctrl-D exits."""


def _read_line(prompt: str) -> str | None:
    """One line from the user; None at end of input (Ctrl-D)."""
    try:
        if sys.stdin.isatty():
            return input(prompt)
        click.echo(prompt, nl=False, err=True)
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\n")
    except EOFError:
        return None


@click.command("chat")
@click.argument("video", required=False)
@_with_common
@click.pass_context
def chat_cmd(
    ctx: click.Context,
    video: str | None,
    all_videos: bool,
    trace: bool,
    llm: str | None,
    vlm: str | None,
    budget: int | None,
) -> None:
    """A conversation about VIDEO (or, with --all, the whole library).

    History carries over: "and what happens right after that?" resolves against the
    previous answer's time range. /trace toggles the step trace, /clear forgets the
    conversation, /quit (or Ctrl-D) exits; Ctrl-C cancels the current question only.
    """
    from ..agent import Turn
    from ..ask import ask_video

    if video is None and not all_videos:
        raise click.UsageError("give VIDEO, or --all to chat about the whole library.")
    if video is not None and all_videos:
        raise click.UsageError("give either VIDEO or --all, not both.")
    store, videos, config, model, models = _prepare(ctx, video, llm, vlm, budget)
    names = ", ".join(os.path.basename(v.path) for v in videos[:3])
    more = f" and {len(videos) - 3} more" if len(videos) > 3 else ""
    click.echo(f"Chatting about {names}{more}.\n{_CHAT_HELP}", err=True)
    history: list[Turn] = []
    while True:
        try:
            line = _read_line("you> ")
        except KeyboardInterrupt:
            click.echo("", err=True)
            continue
        if line is None:
            click.echo("", err=True)
            break
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            cmd = line.split()[0].lower()
            if cmd in ("/quit", "/exit", "/q"):
                break
            if cmd == "/trace":
                trace = not trace
                click.echo(f"trace {'on' if trace else 'off'}", err=True)
            elif cmd == "/clear":
                history.clear()
                click.echo("conversation cleared", err=True)
            else:
                click.echo(f"unknown command {cmd}; try /trace, /clear or /quit", err=True)
            continue
        try:
            ans = ask_video(
                store,
                line,
                video=videos[0] if video is not None else None,
                history=history,
                llm=model,
                config=config,
                models=models,
                on_step=_trace_printer if trace else None,
            )
        except KeyboardInterrupt:
            click.echo("(cancelled)", err=True)
            continue
        except HourlensError as exc:
            click.echo(f"Error: {exc}", err=True)
            continue
        _print_answer(ans, show_video=len(videos) > 1)
        history.append(Turn.of(line, ans))


def register(group: click.Group) -> None:
    """Add the ``ask`` and ``chat`` commands to the ``hourlens`` group."""
    group.add_command(ask_cmd)
    group.add_command(chat_cmd)
