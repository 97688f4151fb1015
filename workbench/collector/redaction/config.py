"""The redaction policy, as a validated dataclass that can also be read from a config file.

In a TOML file the policy is the ``[redaction]`` table (a JSON file: the same keys)::

    [redaction]
    detectors = ["all"]                # or names/groups: "email", "api_keys", "ip" ...
    mode = "placeholder"               # or "hash": <EMAIL:3f9a1c2b>, same value same hash
    modes = { email = "hash" }         # per detector, overrides mode
    salt = "a long random secret"      # HMAC key, required when anything is hashed
    scope = ["all"]                    # presets input_output, messages, documents, all; or globs
    allow = ["myapp.order_id"]         # added to the default allow-list
    capture_text = true                # false drops prompt and response text entirely

    [[redaction.custom]]
    name = "employee_id"
    pattern = 'EMP-\\d{6}'
    replacement = "<EMPLOYEE_ID>"

Every check runs when the dataclass is built, so a policy built in Python is checked the
same way as one read from a file; a bad value raises :class:`~workbench.errors.ConfigError`
naming the value, the rule and the fix.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from workbench.collector.redaction.detectors import BUILTIN_DETECTORS, DETECTOR_GROUPS
from workbench.collector.redaction.scope import DEFAULT_ALLOW, SCOPE_PRESETS
from workbench.collector.redaction.scrub import HASH, MODES, PLACEHOLDER
from workbench.errors import ConfigError

__all__ = ["CustomPattern", "RedactionConfig"]

_BUILTIN_NAMES = tuple(d.name for d in BUILTIN_DETECTORS)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL = re.compile(r"[A-Za-z0-9_.-]+\Z")
_MIN_SALT = 8


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strings(name: str, value: Any) -> tuple[str, ...]:
    """Accept a list of strings, or one string meaning a list of one."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = tuple(value)
        if all(isinstance(item, str) for item in items):
            return items
    raise ConfigError(f'redaction.{name} is {value!r} but must be a list of strings; write it like {name} = ["..."].')


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"redaction.{name} is {value!r} but must be true or false; write it without quotes.")


@dataclass(frozen=True)
class CustomPattern:
    """A user-defined detector.

    Attributes:
        name: Its name in counters and in ``modes``, e.g. ``employee_id``.
        pattern: A Python regular expression. If it has a group named ``value``, only that
            group is replaced (``password=(?P<value>\\S+)`` keeps ``password=``).
        replacement: The placeholder, ``<EMPLOYEE_ID>`` or just ``EMPLOYEE_ID``; by default
            the name in capitals.
        ignore_case: Whether the pattern ignores case.
    """

    name: str
    pattern: str
    replacement: str | None = None
    ignore_case: bool = False
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"redaction.custom {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"redaction.custom name {self.name!r} is not a valid name; use letters, digits "
                "and underscores, starting with a letter, e.g. employee_id."
            )
        if not isinstance(self.pattern, str):
            raise ConfigError(f"{where} pattern is {self.pattern!r} but must be a string; put it in quotes.")
        _boolean("custom ignore_case", self.ignore_case)
        try:
            compiled = re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999} overflows
            raise ConfigError(
                f"{where} pattern {self.pattern!r} is not a valid regular expression ({exc}); "
                "fix it, or escape special characters such as ( [ . with a backslash."
            ) from None
        if compiled.fullmatch(""):
            raise ConfigError(
                f"{where} pattern {self.pattern!r} matches the empty string, so it would match "
                "everywhere; require at least one character (use + instead of *)."
            )
        if self.replacement is not None and not (
            isinstance(self.replacement, str) and _LABEL.match(self.replacement.strip("<>"))
        ):
            raise ConfigError(
                f"{where} replacement {self.replacement!r} is not a valid placeholder; use "
                "letters, digits, _ . or -, optionally in angle brackets, e.g. <EMPLOYEE_ID>."
            )
        object.__setattr__(self, "_compiled", compiled)

    @property
    def label(self) -> str:
        """The placeholder text without angle brackets."""
        return self.replacement.strip("<>") if self.replacement else self.name.upper()

    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled once, when the pattern was checked)."""
        return self._compiled


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact, how, and where.

    Attributes:
        enabled: Whether detectors run at all. ``capture_text=False`` works without them.
        detectors: Built-in detector names or groups (``all``, ``api_keys``, ``ip``). Custom
            patterns always run. Default: every built-in.
        mode: ``placeholder`` (``<EMAIL>``) or ``hash`` (``<EMAIL:3f9a1c2b>``, an
            HMAC-SHA256 of the value keyed by ``salt``, so equal values can be grouped).
        modes: Per-detector overrides of ``mode``, by detector name.
        salt: The HMAC key for hashed values; at least 8 characters when anything is hashed.
            Keep it secret: with it, a short value such as a phone number can be guessed
            back by trying every candidate.
        hash_length: Hex characters of the digest kept, 4 to 64. Default: 8.
        scope: Scope presets (``input_output``, ``messages``, ``documents``, ``all``) or
            globs over attribute keys. Default: ``all``: personal data turns up in metadata,
            tool arguments and user ids as often as in prompts.
        allow: Key globs never touched, added to :data:`DEFAULT_ALLOW` unless
            ``default_allow`` is false.
        default_allow: Whether the default allow-list (ids, model names, counts) applies.
        custom: User-defined detectors; they take priority over the built-ins.
        capture_text: Whether prompt and response text is kept at all.
    """

    enabled: bool = True
    detectors: tuple[str, ...] = ("all",)
    mode: str = PLACEHOLDER
    modes: Mapping[str, str] = field(default_factory=dict)
    salt: str = field(default="", repr=False)
    hash_length: int = 8
    scope: tuple[str, ...] = ("all",)
    allow: tuple[str, ...] = ()
    default_allow: bool = True
    custom: tuple[CustomPattern, ...] = ()
    capture_text: bool = True

    def __reduce__(self) -> tuple[object, ...]:
        # Sent to decoding worker processes; the read-only `modes` view cannot be pickled.
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        values["modes"] = dict(self.modes)
        return (_rebuild_config, (values,))

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise lists to tuples once, here
        for name in ("enabled", "default_allow", "capture_text"):
            _boolean(name, getattr(self, name))
        set_(self, "detectors", _strings("detectors", self.detectors))
        set_(self, "scope", _strings("scope", self.scope))
        set_(self, "allow", _strings("allow", self.allow))
        if not isinstance(self.custom, (list, tuple)):
            raise ConfigError(
                f"redaction.custom is {self.custom!r} but must be a list of CustomPattern "
                "(in a file: [[redaction.custom]] tables with name and pattern)."
            )
        set_(self, "custom", tuple(self.custom))
        known = {**DETECTOR_GROUPS, **{n: (n,) for n in _BUILTIN_NAMES}}
        for name in self.detectors:
            if name not in known:
                raise ConfigError(
                    f"redaction.detectors names {name!r}, which is not a detector; use one of "
                    f"{', '.join(sorted(known))}{_did_you_mean(name, known)}."
                )
        self._check_custom()
        self._check_modes()
        self._check_scope()

    def _check_custom(self) -> None:
        seen: set[str] = set()
        for pattern in self.custom:
            if not isinstance(pattern, CustomPattern):
                raise ConfigError(
                    f"redaction.custom holds {pattern!r}; each entry must be a CustomPattern "
                    "(in a file: a table with name, pattern and optional replacement)."
                )
            if pattern.name in _BUILTIN_NAMES or pattern.name in DETECTOR_GROUPS:
                raise ConfigError(
                    f"redaction.custom name {pattern.name!r} is already a built-in detector; "
                    "give the custom pattern another name."
                )
            if pattern.name in seen:
                raise ConfigError(
                    f"redaction.custom name {pattern.name!r} is used twice; names must be "
                    "unique so that their counts can be told apart."
                )
            seen.add(pattern.name)

    def _check_modes(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(
                f"redaction.mode is {self.mode!r} but must be 'placeholder' or 'hash'; set it to one of them."
            )
        if not isinstance(self.modes, Mapping):
            raise ConfigError(
                f"redaction.modes is {self.modes!r} but must map detector names to "
                "'placeholder' or 'hash', e.g. modes = { email = \"hash\" }."
            )
        names = [*_BUILTIN_NAMES, *(c.name for c in self.custom)]
        for name, mode in self.modes.items():
            if name not in names:
                raise ConfigError(
                    f"redaction.modes names {name!r}, which is not a detector; use a built-in "
                    f"or custom detector name{_did_you_mean(str(name), names)}."
                )
            if mode not in MODES:
                raise ConfigError(
                    f"redaction.modes.{name} is {mode!r} but must be 'placeholder' or 'hash'; set it to one of them."
                )
        set_ = object.__setattr__
        set_(self, "modes", types.MappingProxyType(dict(self.modes)))
        if not isinstance(self.hash_length, int) or not 4 <= self.hash_length <= 64:
            raise ConfigError(
                f"redaction.hash_length is {self.hash_length!r} but must be a whole number "
                "from 4 to 64; 8 is enough to group values without collisions in practice."
            )
        if not isinstance(self.salt, str):
            raise ConfigError("redaction.salt must be a string; put it in quotes.")
        if self.hashed_names() and len(self.salt) < _MIN_SALT:
            # The salt itself is never echoed: it is a secret.
            raise ConfigError(
                f"redaction.salt is {len(self.salt)} characters long but hashed replacement "
                f"needs at least {_MIN_SALT}; set salt to a long random secret (or use "
                "mode 'placeholder')."
            )

    def _check_scope(self) -> None:
        for entry in self.scope:
            if entry not in SCOPE_PRESETS and not any(c in entry for c in ".*?["):
                hint = _did_you_mean(entry, SCOPE_PRESETS)
                if hint:  # a dotless key is legal, but this one looks like a misspelt preset
                    raise ConfigError(
                        f"redaction.scope names {entry!r}, which is not a preset; use one of "
                        f"{', '.join(SCOPE_PRESETS)} or a key glob{hint}."
                    )

    def builtin_names(self) -> tuple[str, ...]:
        """The enabled built-in detectors, in priority order."""
        wanted = {name for entry in self.detectors for name in DETECTOR_GROUPS.get(entry, (entry,))}
        return tuple(name for name in _BUILTIN_NAMES if name in wanted)

    def detector_names(self) -> tuple[str, ...]:
        """Every detector that runs: custom patterns first, then the enabled built-ins."""
        return (*(c.name for c in self.custom), *self.builtin_names())

    def hashed_names(self) -> frozenset[str]:
        """The detectors whose values become salted hashes."""
        if not self.enabled:
            return frozenset()
        return frozenset(name for name in self.detector_names() if self.modes.get(name, self.mode) == HASH)

    def allow_keys(self) -> tuple[str, ...]:
        """The effective allow-list of key globs."""
        return (*DEFAULT_ALLOW, *self.allow) if self.default_allow else self.allow

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RedactionConfig:
        """Build a policy from a parsed config file table (TOML or JSON).

        Args:
            data: The ``[redaction]`` table. Keys are the field names of this class;
                ``custom`` is a list of tables (name, pattern, replacement, ignore_case) or
                a table mapping names to patterns.

        Raises:
            ConfigError: A key is unknown or a value is not allowed.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"the redaction settings are {data!r} but must be a table of keys, e.g. a "
                "[redaction] section in TOML or an object in JSON."
            )
        allowed = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in allowed:
                raise ConfigError(
                    f"redaction.{key} is not a setting; use one of {', '.join(allowed)}"
                    f"{_did_you_mean(str(key), allowed)}."
                )
            values[key] = value
        if "custom" in values:
            values["custom"] = _custom_from(values["custom"])
        return cls(**values)


def _custom_from(value: Any) -> tuple[CustomPattern, ...]:
    if isinstance(value, Mapping):  # { employee_id = 'EMP-\d{6}' } shorthand
        value = [{"name": name, "pattern": pattern} for name, pattern in value.items()]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(
            f"redaction.custom is {value!r} but must be a list of tables with name and "
            "pattern, e.g. [[redaction.custom]] in TOML."
        )
    allowed = [f.name for f in fields(CustomPattern) if f.init]
    patterns = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping) or not {"name", "pattern"} <= entry.keys():
            raise ConfigError(
                f"redaction.custom[{index}] is {entry!r} but must be a table with at least name and pattern."
            )
        for key in entry:
            if key not in allowed:
                raise ConfigError(
                    f"redaction.custom[{index}].{key} is not a setting; use one of "
                    f"{', '.join(allowed)}{_did_you_mean(str(key), allowed)}."
                )
        patterns.append(CustomPattern(**entry))
    return tuple(patterns)


def _rebuild_config(values: dict[str, Any]) -> RedactionConfig:
    return RedactionConfig(**values)
