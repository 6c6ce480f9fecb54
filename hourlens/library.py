"""The Python API: a :class:`Library` of indexed videos.

A library is safe to share between threads: every thread reads through its own SQLite
connection (see :class:`hourlens.memory_store.Store`), so :meth:`Library.videos`,
:meth:`Library.search`, :meth:`Library.transcript` and :meth:`Library.describe` may run
concurrently. :meth:`Library.ask` answers one question at a time per library (local LLMs
are not re-entrant) and indexing runs one batch at a time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import IndexConfig, RayConfig, StoreConfig, default_library_dir, from_env
from .paths import expand_user
from .types import Answer, Hit, IndexResult, TranscriptLine, Video

if TYPE_CHECKING:
    from .tools.memory import ToolResult
    from .tools.schema import ToolSpec

ENGINES = ("serial", "ray")


class Library:
    """A folder holding the index of many videos (SQLite + vector shards + thumbnails).

    Args:
        path: Library folder; default ``$HOURLENS_HOME`` or the per-user data folder.
        index_config: Indexing settings; default from ``HOURLENS_*`` env vars.
        store_config: Vector index settings; default from env vars.
        agent_config: Question answering settings (an :class:`hourlens.agent.AgentConfig`);
            default from ``HOURLENS_*`` env vars.
        llm: The LLM :meth:`ask` uses: an object with ``complete_json`` (e.g.
            :class:`hourlens.models.llm.FakeLLM`), a spec string for
            :func:`hourlens.models.llm.load_llm` (``"none"`` answers without an LLM), or None
            for ``agent_config.llm`` (``HOURLENS_LLM``, default the packaged offline model).
            Loaded once, on the first question.
        models: Embedders/encoders for :meth:`ask` and the label space of :meth:`search`
            (an :class:`hourlens.agent.Models`); default the shared lazily loaded ones.

    Example:
        >>> lib = Library("/tmp/lib")                      # doctest: +SKIP
        >>> lib.index(["./videos"])                        # doctest: +SKIP
        >>> lib.search("a rocket on a launch pad", k=3)    # doctest: +SKIP
        >>> lib.ask("What is said at about 12:34?", video="talk.mp4").answer  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        index_config: IndexConfig | None = None,
        store_config: StoreConfig | None = None,
        agent_config: Any = None,
        llm: Any = None,
        models: Any = None,
    ) -> None:
        self.path = expand_user(path) if path is not None else default_library_dir()
        self.index_config = index_config or from_env(IndexConfig)
        self.store_config = store_config or from_env(StoreConfig)
        self._agent_config = agent_config
        self._llm = llm
        self._llm_ready = llm is not None and not isinstance(llm, str)
        self.models = models
        self._store: Any = None
        self._indexer: Any = None
        self._ray_indexer: Any = None
        self._lock = threading.Lock()
        self._ask_lock = threading.Lock()
        self._index_lock = threading.Lock()

    @property
    def store(self) -> Any:
        """The underlying :class:`~hourlens.memory_store.Store` (opened on first use)."""
        with self._lock:
            if self._store is None:
                from .memory_store import Store

                self._store = Store(self.path, config=self.store_config)
            return self._store

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            if self._ray_indexer is not None:
                self._ray_indexer.close()
                self._ray_indexer = None
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_index(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        progress: Any = None,
        engine: str = "serial",
        ray_config: RayConfig | None = None,
    ) -> Iterator[IndexResult]:
        """Index files/folders, yielding a result per video as it finishes.

        Args:
            paths: Files or folders (searched recursively for video files).
            force: Re-index unchanged files too.
            progress: ``None``, or a callback ``(event, info)``.
            engine: ``serial`` (this process) or ``ray`` (a Ray cluster; needs
                ``pip install 'hourlens[ray]'``; see :mod:`hourlens.indexer.ray_engine`).
            ray_config: Ray address, workers, window length (default from
                ``HOURLENS_RAY_*`` env vars).

        Raises:
            ValueError: Unknown engine.
            MissingDependencyError: ``engine="ray"`` without ray installed.
        """
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
        store = self.store
        with self._lock:
            if engine == "ray":
                from .indexer.ray_engine import RayIndexer, require_ray

                require_ray()
                rc = ray_config or from_env(RayConfig, prefix="HOURLENS_RAY_")
                if self._ray_indexer is None or self._ray_indexer.ray_config != rc:
                    if self._ray_indexer is not None:
                        self._ray_indexer.close()
                    self._ray_indexer = RayIndexer(store, self.index_config, rc)
                indexer = self._ray_indexer
            else:
                if self._indexer is None:
                    from .indexer.pipeline import Indexer

                    self._indexer = Indexer(store, self.index_config)
                indexer = self._indexer
        yield from indexer.index_paths(list(paths), force=force, progress=progress)

    def index(
        self,
        paths: Iterable[str | Path] | str | Path,
        *,
        force: bool = False,
        progress: bool | Callable[[str, dict[str, Any]], None] = False,
        engine: str = "serial",
        ray_config: RayConfig | None = None,
    ) -> list[IndexResult]:
        """Index files/folders and return one result per video.

        Calls on one library run one after another (the indexer holds one encoder).

        Args:
            paths: A path or paths.
            force: Re-index unchanged files too.
            progress: True shows progress bars on stderr; a callable gets every progress
                event ``(event, info)``: ``plan`` ``{"files"}``, ``start`` ``{"path",
                "total"}``, ``frames`` ``{"n"}``, ``stage`` ``{"name"}``, ``done``
                ``{"result"}``.
            engine: ``serial`` or ``ray`` (see :meth:`iter_index`).
            ray_config: Settings of the Ray engine.
        """
        if isinstance(paths, str | Path):
            paths = [paths]
        cb: Any = progress if callable(progress) else None
        bars = None
        if progress is True:
            from .cli.progress import TqdmProgress

            cb = bars = TqdmProgress()
        try:
            with self._index_lock:
                return list(
                    self.iter_index(
                        paths, force=force, progress=cb, engine=engine, ray_config=ray_config
                    )
                )
        finally:
            if bars is not None:
                bars.close()

    def videos(self, status: str | Collection[str] | None = None) -> list[Video]:
        """Videos in the library, optionally only with a status (``indexed``, ``partial``,
        ``failed``, ``indexing``) or one of several (``READY_STATUSES``: searchable ones)."""
        return self.store.videos(status)

    def video(self, ref: str | int) -> Video:
        """One video by id, path or unique file name; raises NotIndexedError."""
        return self.store.resolve_video(ref)

    def search(
        self,
        query: str,
        k: int = 10,
        video: str | int | None = None,
        *,
        libraries: Sequence[Library | str | Path] = (),
    ) -> list[Hit]:
        """Hybrid search over the library (see :mod:`hourlens.tools.search`).

        Args:
            query: Free text.
            k: Number of results.
            video: Only this video (not with ``libraries``).
            libraries: Other libraries (shards of one archive: per machine or per
                collection) searched together with this one, results fused by rank.

        Raises:
            ValueError: ``video`` together with ``libraries``.
        """
        from .tools.search import search_libraries, search_video_memory

        expander = self.models.labels if self.models is not None else None
        if not libraries:
            return search_video_memory(self.store, query, k=k, video=video, label_expander=expander)
        if video is not None:
            raise ValueError("video= searches one library; drop it to search several")
        others = [x if isinstance(x, Library) else Library(x) for x in libraries]
        try:
            stores = [self.store, *(o.store for o in others)]
            return search_libraries(stores, query, k=k, label_expander=expander)
        finally:
            for o, x in zip(others, libraries, strict=True):
                if o is not x:
                    o.close()

    @property
    def agent_config(self) -> Any:
        """The :class:`hourlens.agent.AgentConfig` used by :meth:`ask` (``llm`` spec applied)."""
        if self._agent_config is None:
            from .agent import AgentConfig

            self._agent_config = from_env(AgentConfig)
        if isinstance(self._llm, str) and self._agent_config.llm != self._llm:
            self._agent_config = dataclasses.replace(self._agent_config, llm=self._llm)
        return self._agent_config

    def _agent_llm(self) -> Any:
        """The LLM for :meth:`ask` (None: deterministic answers), loaded once."""
        if not self._llm_ready:
            from .agent.graph import load_agent_llm

            config = self.agent_config
            self._llm = load_agent_llm(config.llm)
            if self._llm is None:  # "none", or "auto" without a model: don't retry per question
                self._llm = "none"
                self._agent_config = dataclasses.replace(config, llm="none")
            self._llm_ready = True
        return None if isinstance(self._llm, str) else self._llm

    def ask(
        self,
        question: str,
        video: str | int | Video | None = None,
        history: Sequence[Any] | None = None,
        *,
        on_step: Callable[[Any], None] | None = None,
    ) -> Answer:
        """Answer a question about one video (or every indexed one), citing time ranges.

        Args:
            question: Free text ("What is said at about 12:34?", "When is a cat shown?").
            video: Id, path or unique file name; None asks across the whole library.
            history: Earlier turns for follow-ups: ``(question, Answer)`` pairs or
                :class:`hourlens.agent.Turn` items.
            on_step: Called with each agent :class:`~hourlens.types.Step` as it finishes.

        Returns:
            ``Answer(answer, confidence, citations, steps)`` (``to_dict()`` for JSON).

        Raises:
            NotIndexedError: Unknown or unfinished video, or an empty library.
            ValueError: Empty question.
        """
        from .ask import ask_video

        store = self.store
        with self._ask_lock:
            llm = self._agent_llm()
            return ask_video(
                store,
                question,
                video=video,
                history=history,
                llm=llm,
                config=self.agent_config,
                models=self.models,
                on_step=on_step,
            )

    def memory_tools(self) -> list[ToolSpec]:
        """The typed memory tools (:data:`hourlens.tools.memory.TOOLS`): name, description
        and a JSON schema of the arguments (``video`` included), for :meth:`memory_tool`."""
        from .tools.schema import tool_specs

        return tool_specs()

    def memory_tool(
        self, name: str, /, *, video: str | int | Video | None = None, **args: Any
    ) -> ToolResult:
        """Run one typed memory tool, the retrieval the agent itself uses.

        Args:
            name: A tool from :meth:`memory_tools` (``lookup_at``, ``find_phrase``,
                ``find_visual``, ``read_range``, ``neighbours``, ``count``, ``overview``,
                ``search``...).
            video: One video (id, path or unique file name); None reads every indexed one.
            **args: The tool's arguments (see its ``parameters`` schema), e.g.
                ``time=87.0, modality="speech"``.

        Returns:
            A :class:`hourlens.tools.memory.ToolResult` (``to_dict()`` for JSON).

        Raises:
            UnknownToolError: No such tool (the message lists the tools).
            ToolArgumentError: An unknown, missing or ill-typed argument, or a value the
                tool refuses (one line).
            NotIndexedError: Unknown or unfinished video, or an empty library.

        Example:
            >>> lib.memory_tool("count", video="talk.mp4", target="rocket")  # doctest: +SKIP
        """
        from .ask import resolve_videos
        from .errors import ToolArgumentError
        from .tools.memory import call_tool
        from .tools.schema import bind_args, tool_registry_entry
        from .tools.scope import Scope, default_models

        tool = tool_registry_entry(name)
        kwargs = bind_args(tool.name, args)
        store = self.store
        scope = Scope(
            store=store,
            videos=resolve_videos(store, video),
            models=self.models if self.models is not None else default_models(),
        )
        try:
            return call_tool(scope, tool.name, **kwargs)
        except ValueError as exc:  # a value the tool refuses (end before start...)
            msg = str(exc) if str(exc).startswith(tool.name) else f"{tool.name}: {exc}"
            raise ToolArgumentError(msg) from exc

    def transcript(
        self, video: str | int | Video, start: float | None = None, end: float | None = None
    ) -> list[TranscriptLine]:
        """Speech lines of an indexed video overlapping ``[start, end]`` (seconds).

        Raises:
            NotIndexedError: Unknown or unfinished video.
            ValueError: ``end`` before ``start``.
        """
        from .ask import get_video_transcript

        return get_video_transcript(self.store, video, start, end)

    def describe(self, ref: str | int) -> dict[str, Any]:
        """Everything ``hourlens show --json`` prints about one video (the memory tree)."""
        from .describe import describe_video

        return describe_video(self.store, ref)

    def remove(self, ref: str | int) -> Video:
        """Forget a video: its rows, vectors and thumbnails."""
        return self.store.remove_video(ref)

    def build_kv(
        self,
        ref: str | int,
        model: str,
        *,
        device: str = "cpu",
        force: bool = False,
        config: Any = None,
    ) -> Any:
        """Prefill every segment of a video through an LMM and store its KV memories.

        Args:
            ref: The video (id, path or name).
            model: An LMM registry name, hub id or local path (transformers).
            device: ``cpu``, ``cuda`` or ``cuda:N``.
            force: Rebuild even when the stored blocks are current.
            config: A :class:`hourlens.config.KVConfig` (default from ``HOURLENS_KV_*``).

        Returns:
            A :class:`hourlens.indexer.kv_build.KVBuildResult`.
        """
        from .indexer.kv_build import build_kv
        from .models.lmm import load_lmm

        return build_kv(self.store, ref, load_lmm(model, device=device), config=config, force=force)
