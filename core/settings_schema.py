"""Every setting declared once: its type, bounds or choices, default and help.

A settings dataclass declares each field with ``setting(default, lo=, hi=, help=...)``; the
declaration lives in the field's metadata, and ``Schema(cls)`` reads it back. The config
file, the ``PEERMATCH_*`` environment variables, ``/peeradmin config`` and the overrides a
community has stored all turn raw input into a value with ``Schema.parse``, so one value is
accepted or refused in the same way, with the same message, wherever it comes from. The
example config, the README table and the chat help are generated from the same specs.

Raw input is what a source gives: text from the environment or chat (lists comma
separated), TOML values from the file, JSON values from the database.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from typing import Any, TypeVar, cast

T = TypeVar("T")

_TRUE = ("yes", "true", "on", "1")
_FALSE = ("no", "false", "off", "0")
_WHOLE = re.compile(r"[+-]?\d+")


class SettingError(ValueError):
    """A raw value a setting refuses; ``message`` says what the setting accepts."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Kind(enum.Enum):
    BOOL = "yes/no"
    INT = "whole number"
    FLOAT = "number"
    TEXT = "text"
    LIST = "list"
    TABLE = "table"


@dataclass(frozen=True)
class Spec:
    """The declaration of one setting (``name`` is filled in from the field)."""

    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    item: Kind = Kind.TEXT  # the kind of a list's items
    min_items: int = 0
    check: Callable[[Any], Any] | None = None  # normalises a value or raises ValueError
    accepts: str = ""  # how the help names what ``check`` accepts, e.g. "an IANA time zone"
    chat: bool = True  # changeable with /peeradmin config (community settings only)
    # Used instead of a stored override that no longer parses (None: the default is).
    fallback: Any = None
    name: str = ""

    @property
    def kind(self) -> Kind:
        d = self.default
        if isinstance(d, bool):
            return Kind.BOOL
        if isinstance(d, int):
            return Kind.INT
        if isinstance(d, float):
            return Kind.FLOAT
        if isinstance(d, tuple):
            return Kind.LIST
        if isinstance(d, dict):
            return Kind.TABLE
        return Kind.TEXT

    def allowed(self) -> str:
        """What the setting accepts, in words (docs, chat help and every refusal)."""
        kind, item = self.kind, self.item
        if kind is Kind.LIST:
            if self.choices:
                what = ("one or more of " if self.min_items else "any of ") + ", ".join(
                    self.choices)
            else:
                what = (("one or more " if self.min_items else "") + _plural(item)
                        + _range(self.lo, self.hi, item))
            return "a comma-separated list of " + what
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.accepts:
            return self.accepts
        if kind in (Kind.INT, Kind.FLOAT):
            return f"a {kind.value}{_range(self.lo, self.hi, kind)}"
        if kind is Kind.BOOL:
            return "yes or no"
        if kind is Kind.TABLE:
            return "a table of key = value (text)"
        return "text"

    def parse(self, raw: object) -> Any:
        """The setting's value from raw input, or SettingError naming what it accepts."""
        try:
            value = self._convert(raw)
            return self.check(value) if self.check is not None else value
        except (ValueError, TypeError) as exc:
            if isinstance(exc, _Detail):  # the check's own words already name the value
                raise SettingError(str(exc)) from None
            raise SettingError(f"must be {self.allowed()}, not {show(raw)}") from None

    def stored(self, value: Any) -> Any:
        """A parsed value as JSON/TOML wants it (tuples as lists, enums by value)."""
        if isinstance(value, tuple):
            return [v.value if isinstance(v, enum.Enum) else v for v in value]
        return value

    def _convert(self, raw: object) -> Any:
        kind = self.kind
        if kind is Kind.LIST:
            items = _items(raw)
            values = tuple(self._scalar(self.item, v) for v in items)
            if len(values) < self.min_items:
                raise ValueError
            sample = self.default[0] if self.default else None
            if isinstance(sample, enum.Enum):
                return tuple(type(sample)(v) for v in values)
            return values
        if kind is Kind.TABLE:
            return _table(raw)
        return self._scalar(kind, raw)

    def _scalar(self, kind: Kind, raw: object) -> Any:
        value: Any
        if kind is Kind.BOOL:
            value = _bool(raw)
        elif kind is Kind.INT:
            value = _int(raw)
        elif kind is Kind.FLOAT:
            value = _float(raw)
        else:
            value = _text(raw)
        if kind in (Kind.INT, Kind.FLOAT) and (
                (self.lo is not None and value < self.lo)
                or (self.hi is not None and value > self.hi)):
            raise ValueError
        if self.choices and kind is Kind.TEXT and value not in self.choices:
            raise ValueError
        return value


class _Detail(ValueError):
    """A check's own explanation (shown instead of the generic 'must be ...')."""


def detail(message: str) -> ValueError:
    """An error for a ``check`` whose message says more than the generic one."""
    return _Detail(message)


def setting(default: T, help: str, *, lo: float | None = None, hi: float | None = None,
            choices: tuple[str, ...] = (), item: Kind = Kind.TEXT, min_items: int = 0,
            check: Callable[[Any], Any] | None = None, accepts: str = "",
            chat: bool = True, fallback: Any = None) -> T:
    """A dataclass field carrying its Spec (mutable defaults are copied per instance)."""
    spec = Spec(default, help, lo, hi, choices, item, min_items, check, accepts, chat,
                fallback)
    if isinstance(default, dict):
        return cast(T, field(default_factory=lambda: dict(default), metadata={"spec": spec}))
    return field(default=default, metadata={"spec": spec})


class Schema:
    """The specs of one settings dataclass, by field name, in declaration order."""

    def __init__(self, cls: type[Any], section: str = "") -> None:
        self.cls = cls
        self.section = section
        self.specs: dict[str, Spec] = {}
        for f in fields(cls):
            spec = _spec_of(f)
            if spec is not None:
                self.specs[f.name] = spec

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def spec(self, name: str) -> Spec:
        return self.specs[name]

    def parse(self, name: str, raw: object) -> Any:
        """Parse one setting's raw value (SettingError with the setting's one message)."""
        return self.specs[name].parse(raw)

    def parse_all(self, raw: Mapping[str, object]) -> dict[str, Any]:
        """Parse every known key (unknown keys are the caller's business)."""
        return {k: self.parse(k, v) for k, v in raw.items() if k in self.specs}


def undeclared(cls: type[Any]) -> list[str]:
    """Fields of a settings dataclass that declare no Spec (nested dataclasses aside)."""
    return [f.name for f in fields(cls) if _spec_of(f) is None and not _nested(f)]


def show(raw: object) -> str:
    """A raw value quoted the same way whichever source gave it ("0" for 0 and '0')."""
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, list | tuple):
        text = ", ".join(show(v).strip('"') for v in raw)
    elif isinstance(raw, dict):
        text = ", ".join(f"{k} = {v}" for k, v in raw.items())
    else:
        text = str(raw).strip()
    return f'"{text}"'


def _spec_of(f: Field[Any]) -> Spec | None:
    spec = f.metadata.get("spec")
    if not isinstance(spec, Spec):
        return None
    return replace(spec, name=f.name)


def _nested(f: Field[Any]) -> bool:
    factory = f.default_factory
    return factory is not MISSING and is_dataclass(factory)


def _plural(kind: Kind) -> str:
    return {Kind.INT: "whole numbers", Kind.FLOAT: "numbers"}.get(kind, "text items")


def _range(lo: float | None, hi: float | None, kind: Kind) -> str:
    def num(x: float) -> str:
        return str(int(x)) if kind is Kind.INT or float(x).is_integer() else str(x)

    if lo is not None and hi is not None:
        return f" from {num(lo)} to {num(hi)}"
    if lo is not None:
        return f" of at least {num(lo)}"
    if hi is not None:
        return f" of at most {num(hi)}"
    return ""


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE + _FALSE:
        return raw.strip().lower() in _TRUE
    raise ValueError


def _int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _WHOLE.fullmatch(raw.strip()):
        return int(raw.strip())
    raise ValueError


def _float(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        value = float(raw.strip())
    else:
        raise ValueError
    if not math.isfinite(value):
        raise ValueError
    return value


def _text(raw: object) -> str:
    # TOML gives numbers for ids typed without quotes (Discord ids): keep them as text.
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError
    return str(raw).strip()


def _items(raw: object) -> list[object]:
    if isinstance(raw, str):
        return [v.strip() for v in raw.split(",") if v.strip()]
    if isinstance(raw, list | tuple):
        return [v.strip() if isinstance(v, str) else v for v in raw
                if not (isinstance(v, str) and not v.strip())]
    raise ValueError


def _table(raw: object) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k).strip(): _text(v) for k, v in raw.items()}
    if isinstance(raw, str):  # the environment: "Calculus I = calculus, Calculus II = calculus"
        pairs = [p.split("=", 1) for p in raw.split(",") if p.strip()]
        if any(len(p) != 2 or not p[0].strip() for p in pairs):
            raise ValueError
        return {k.strip(): v.strip() for k, v in pairs}
    raise ValueError
