"""Finding runs: which runs a filter selects, in which order, for the CLI and the console alike.

A filter is words separated by spaces; a run must match them all (``sigma=0.3 status=completed``):

- ``KEY=VALUE``, or ``!=``, ``<``, ``<=``, ``>``, ``>=``. KEY is a setting (``sigma``, ``decay``,
  ``loss``, ``epochs``, ... every field of ``RunConfig``) or a column: ``id``, ``name`` (the id
  without its time), ``status``, ``sweep``, ``done`` (epochs done), ``recon``, ``train``, ``time``
  (seconds), ``psnr``, ``recon_l1``, ``recon_l2``, ``tag`` (any of the run's tags), ``note``. Numbers
  compare as numbers (``sigma=0.3`` is
  ``sigma=0.30``), other values as text, case aside; VALUE may list alternatives (``loss=l1,l2``)
  and use ``*`` and ``?`` (``name=sigma0.*``); ``-`` is "not recorded" (``recon=-``).
- a word without an operator: runs whose id contains it.

What cannot be compared is refused (QueryError, before any run is read), never read as "no filter"
or as a text comparison that matches by accident: ``<``, ``<=``, ``>``, ``>=`` take a number and a
key that holds numbers (``recon<abc``, ``loss<l2`` are refused); a key that holds numbers takes a
number, ``-`` or a wildcard (``sigma=abc`` is refused), ``status`` one of ``STATUSES``, a yes/no
setting true or false; an empty value or alternative (``loss=l1,``) and ``nan`` are refused.

A sort key is one of the same keys, ``-KEY`` for descending; runs without a value come last.
``select`` applies a filter, keeps the N newest (by id: ids begin with the time they were made),
then sorts. Works on any ``RunView`` (``glo.store.index.IndexedView`` included).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from glo.config import SETTINGS, RunConfig
from glo.errors import GloError
from glo.store.runview import RunView

STATUSES = ("completed", "running", "stopped", "interrupted", "failed", "damaged")
COLUMNS: dict[str, Callable[[RunView], Any]] = {
    "id": lambda v: v.run.id,
    "name": lambda v: v.label,
    "status": lambda v: v.status,
    "sweep": lambda v: v.sweep_id,
    "done": lambda v: v.epochs_done,
    "recon": lambda v: v.last.get("recon_loss"),
    "train": lambda v: v.last.get("train_loss"),
    "time": lambda v: v.last.get("elapsed_s"),
    "psnr": lambda v: v.last.get("psnr"),
    "recon_l1": lambda v: v.last.get("recon_l1"),
    "recon_l2": lambda v: v.last.get("recon_l2"),
    "tag": lambda v: v.tags,  # a tuple: the term matches if one of the run's tags does (no tags: '-')
    "note": lambda v: v.note or None,
}
ALIASES = {"recon_loss": "recon", "train_loss": "train", "elapsed_s": "time", "epochs_done": "done", "tags": "tag"}
SETTING_KEYS = tuple(f.name for f in fields(RunConfig) if f.name not in COLUMNS)
_KINDS = {"int": "number", "float": "number", "bool": "bool", "images": "count"}  # a setting's kind: a key's
# what each key holds: number (compared as numbers), count (a number or 'all'), bool, or text (a setting's
# kind, glo.config.SETTINGS; the fields no Setting describes, the run's name and sweep, are text)
KINDS: dict[str, str] = {**dict.fromkeys(("done", "recon", "train", "time", "psnr", "recon_l1", "recon_l2"), "number"),
                         **{n: _KINDS.get(SETTINGS[n].kind, "text") if n in SETTINGS else "text"
                            for n in SETTING_KEYS}}
BOOLS = ("true", "yes", "false", "no", "1", "0")
KEYS = (*COLUMNS, *SETTING_KEYS)
OPERATORS = ("!=", "<=", ">=", "==", "=", "<", ">")
TERM_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|==|=|<|>)(.*)$")


class QueryError(GloError):
    """A filter or sort key that cannot be understood; the message says what is allowed."""


def getter(key: str) -> Callable[[RunView], Any]:
    """How to get KEY (a column, an alias of one, or a setting) from a run."""
    key = ALIASES.get(key.lower(), key.lower())
    if key in COLUMNS:
        return COLUMNS[key]
    if key in SETTING_KEYS:
        return lambda v: v.settings.get(key)
    raise QueryError(f"unknown key {key!r}: use a column ({', '.join(COLUMNS)}) "
                     f"or a setting ({', '.join(SETTING_KEYS)})")


@dataclass(frozen=True)
class Term:
    key: str
    op: str
    values: tuple[str, ...]
    get: Callable[[RunView], Any]

    def matches(self, view: RunView) -> bool:
        actual = self.get(view)
        items = (actual or (None,)) if isinstance(actual, tuple) else (actual,)  # tags: any of them
        hit = any(_compare(a, "=" if self.op == "!=" else self.op, want) for a in items for want in self.values)
        return not hit if self.op == "!=" else hit


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: Any, op: str, want: str) -> bool:
    if want == "-":
        return actual is None if op in ("=", "==") else False
    if actual is None:
        return False
    a, w = _number(actual), _number(want)
    if isinstance(actual, bool):
        a, w = float(actual), {"true": 1.0, "yes": 1.0, "false": 0.0, "no": 0.0}.get(want.lower(), w)
    if a is not None and w is not None and not isinstance(actual, str):
        pair: tuple[Any, Any] = (a, w)
    else:
        text, want = str(actual).lower(), want.lower()
        if op in ("=", "=="):
            return fnmatch.fnmatchcase(text, want) if any(c in want for c in "*?[") else text == want
        return False  # text is never ordered (``parse`` refuses it): 'all' is not below 100
    return bool({"=": pair[0] == pair[1], "==": pair[0] == pair[1], "<": pair[0] < pair[1], "<=": pair[0] <= pair[1],
            ">": pair[0] > pair[1], ">=": pair[0] >= pair[1]}[op])


@dataclass(frozen=True)
class Query:
    """A parsed filter: terms that must all match, and words the id must contain."""

    terms: tuple[Term, ...] = ()
    words: tuple[str, ...] = ()
    text: str = ""

    def matches(self, view: RunView) -> bool:
        run_id = view.run.id.lower()
        return all(w in run_id for w in self.words) and all(t.matches(view) for t in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms or self.words)


def parse(text: str | Sequence[str] | None) -> Query:
    """A filter from its text (or several texts, all of which must match); raises QueryError."""
    texts = [text] if isinstance(text, str) else list(text or [])
    terms, words = [], []
    for word in " ".join(texts).split():
        m = TERM_RE.match(word)
        if m is None:
            if any(op in word for op in OPERATORS):
                raise QueryError(f"cannot read {word!r}: write KEY=VALUE (or !=, <, <=, >, >=), e.g. sigma=0.3")
            words.append(word.lower())
            continue
        key, op, value = m.groups()
        if not value:
            raise QueryError(f"{word!r} has no value: e.g. {key}{op}0.3 (- for 'not recorded')")
        key = ALIASES.get(key.lower(), key.lower())
        get = getter(key)
        values = tuple(value.split(","))
        for want in values:
            check_value(word, key, op, want)
        terms.append(Term(key, op, values, get))
    return Query(tuple(terms), tuple(words), " ".join(texts).strip())


def _is_number(text: str) -> bool:
    n = _number(text)
    return n is not None and n == n  # nan is no number to compare with


def check_value(word: str, key: str, op: str, want: str) -> None:
    """Refuse WANT where KEY cannot be compared with it by OP (see the module docstring)."""
    kind = KINDS.get(key, "text")
    if not want:
        raise QueryError(f"{word!r} has an empty value: e.g. {key}{op}a,b (no empty alternative)")
    if op in ("<", "<=", ">", ">="):
        if kind not in ("number", "count"):
            raise QueryError(f"{word!r}: {key} is not a number, so it cannot be ordered; "
                             "use = or != (with * wildcards)")
        if not _is_number(want):
            raise QueryError(f"{word!r}: {key}{op} needs a number, not {want!r}")
        return
    if want == "-" or any(c in want for c in "*?["):
        return
    if kind == "number" and not _is_number(want):
        raise QueryError(f"{word!r}: {key} is a number, not {want!r} (- for 'not recorded')")
    if kind == "count" and not _is_number(want) and want.lower() != "all":
        raise QueryError(f"{word!r}: {key} is a number or 'all', not {want!r}")
    if kind == "bool" and want.lower() not in BOOLS:
        raise QueryError(f"{word!r}: {key} is true or false, not {want!r}")
    if key == "status" and want.lower() not in STATUSES:
        raise QueryError(f"{word!r}: status is one of {', '.join(STATUSES)}, not {want!r}")


def check_sort(key: str) -> str:
    """KEY if it is a sort key (``recon``, ``-time``, ``sigma``...); raises QueryError."""
    if not key.lstrip("+-"):
        raise QueryError(f"sort key {key!r} names no column: e.g. recon, or -recon for descending")
    getter(key.lstrip("+-"))
    return key


def _sort_value(value: Any) -> tuple[int, float, str]:
    if isinstance(value, tuple):  # tags
        value = " ".join(value)
    n = _number(value) if not isinstance(value, str) else None
    return (0, n, "") if n is not None else (1, 0.0, str(value).lower())


def sort(views: Sequence[RunView], key: str | None) -> list[RunView]:
    """VIEWS in the order of KEY (``-KEY``: descending), runs without a value last; ties (and no
    KEY) by id, oldest first."""
    descending, name = key.startswith("-") if key else False, (key or "id").lstrip("+-")
    out = sorted(views, key=lambda v: v.run.id, reverse=descending and name == "id")
    if name == "id":  # ids are never missing, never alike
        return out
    get = getter(name)
    valued = [(v, get(v)) for v in out]
    have = [(v, x) for v, x in valued if x is not None]
    have.sort(key=lambda p: _sort_value(p[1]), reverse=descending)  # stable: ids stay in order among ties
    return [v for v, _ in have] + [v for v, x in valued if x is None]


def select(views: Sequence[RunView], query: Query | None = None, last: int | None = None,
           order: str | None = None) -> list[RunView]:
    """The runs QUERY matches; of those the LAST newest; sorted by ORDER (by id if None)."""
    chosen = [v for v in views if query is None or query.matches(v)]
    if last is not None:
        chosen = sorted(chosen, key=lambda v: v.run.id)[-last:] if last > 0 else []
    return sort(chosen, order)
