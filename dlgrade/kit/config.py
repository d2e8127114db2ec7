"""Typed, validated run settings: one frozen dataclass per question, one instance per profile.

Shared key names across questions: ``train_samples``, ``val_samples``, ``test_samples`` (None = all),
``epochs`` / ``epochs_<phase>``, ``batch_size`` / ``batch_size_<phase>``, ``seeds`` (how many seeds a run
averages over), ``trials``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Mapping

SANDBOX_SAFE = True


class ConfigError(ValueError):
    """A config value has the wrong type or a key is unknown/missing."""


def _allowed(tp: Any) -> tuple[type, ...]:
    """The runtime types a field annotation admits (int also admits bool-free ints; float admits int)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        out: tuple[type, ...] = ()
        for arg in typing.get_args(tp):
            out += _allowed(arg)
        return out
    if tp is type(None) or tp is None:
        return (type(None),)
    if tp is float:
        return (float, int)
    if origin in (tuple, list):
        return (tuple, list)
    if origin is dict or tp is dict:
        return (dict,)
    return (tp,) if isinstance(tp, type) else (object,)


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class of a question's settings. Subclass it as a frozen dataclass with annotated fields."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            allowed = _allowed(hints[f.name])
            if isinstance(value, bool) and bool not in allowed:
                ok = False
            else:
                ok = isinstance(value, allowed)
            if not ok:
                names = " or ".join(sorted({t.__name__ for t in allowed}))
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected {names}, got {type(value).__name__} {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (tuples become lists), for provenance and the run's fingerprint."""
        def plain(v):
            return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        """Rebuild from :meth:`to_dict` output, naming unknown or missing keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown, missing = sorted(set(data) - names), sorted(names - set(data))
        if unknown or missing:
            raise ConfigError(f"{cls.__name__}: unknown keys {unknown}, missing keys {missing}")
        hints = typing.get_type_hints(cls)
        kwargs = {k: (tuple(v) if isinstance(v, list) and typing.get_origin(hints[k]) is tuple else v) for k, v in data.items()}
        return cls(**kwargs)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __getitem__(self, key: str) -> Any:
        """``cfg["epochs"]``, for templates and old call sites."""
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(f"{type(self).__name__} has no setting {key!r}") from None
