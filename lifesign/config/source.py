"""A strict YAML reader that remembers where every value came from.

PyYAML's composed node tree keeps line marks; :class:`ConfigNode` wraps one node
with its dotted path so every check can say ``file:line: path must be ...``.
Unknown keys are errors, with a hint when they look like a typo of a known key.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from lifesign.config.errors import ConfigError

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class ConfigNode:
    def __init__(self, node: yaml.Node, file: str, path: str) -> None:
        self.node = node
        self.file = file
        self.path = path

    # -- location and errors -------------------------------------------------
    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, problem: str) -> ConfigError:
        return ConfigError(self.file, self.line, self.path, problem)

    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def _show(self) -> str:
        if isinstance(self.node, yaml.ScalarNode):
            return repr(self.node.value) if self.node.tag == _STR_TAG else str(self.node.value)
        return "a mapping" if isinstance(self.node, yaml.MappingNode) else "a list"

    def is_null(self) -> bool:
        """``~``, ``null`` or nothing: a layer switching a rule off."""
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == _NULL_TAG

    # -- structure -------------------------------------------------------------
    def mapping(self, allowed: Iterable[str] | None = None, required: Iterable[str] = ()) -> dict[str, ConfigNode]:
        """The children of a mapping, checked against the allowed and required keys."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"must be a mapping, got {self._show()}")
        children: dict[str, ConfigNode] = {}
        allowed_set = set(allowed) if allowed is not None else None
        for key_node, value_node in self.node.value:
            key = str(key_node.value)
            child = ConfigNode(value_node, self.file, self._child_path(key))
            if key in children:
                raise ConfigError(self.file, key_node.start_mark.line + 1, child.path, "is given twice")
            if allowed_set is not None and key not in allowed_set:
                hint = difflib.get_close_matches(key, sorted(allowed_set), n=1)
                expected = f"did you mean '{hint[0]}'?" if hint else f"expected one of {', '.join(sorted(allowed_set))}"
                raise ConfigError(self.file, key_node.start_mark.line + 1, child.path, f"is not a known key ({expected})")
            children[key] = child
        for key in required:
            if key not in children:
                raise self.error(f"is missing the required key '{key}'")
        return children

    def sequence(self) -> list[ConfigNode]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"must be a list, got {self._show()}")
        return [ConfigNode(n, self.file, self._child_path(i)) for i, n in enumerate(self.node.value)]

    # -- scalars ---------------------------------------------------------------
    def _scalar(self) -> yaml.ScalarNode:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"must be a single value, got {self._show()}")
        return self.node

    def string(self) -> str:
        node = self._scalar()
        if node.tag == _NULL_TAG or node.value == "":
            raise self.error("must be a non-empty text, got nothing")
        return str(node.value)

    def number(self, *, gt: float | None = None, ge: float | None = None, le: float | None = None) -> float:
        node = self._scalar()
        if node.tag == _STR_TAG and node.style is None and _EXPONENT.match(node.value):
            value = float(node.value)  # YAML 1.2's 1e9, which PyYAML (YAML 1.1) reads as text
        elif node.tag not in (_INT_TAG, _FLOAT_TAG):
            raise self.error(f"must be a number, got {self._show()}")
        else:
            value = float(yaml.safe_load(node.value)) if node.tag == _FLOAT_TAG else float(int(node.value.replace("_", ""), 0))
        if not math.isfinite(value):
            raise self.error(f"must be a finite number, got {node.value}")
        if gt is not None and not value > gt:
            raise self.error(f"must be > {_fmt(gt)}, got {node.value}")
        if ge is not None and not value >= ge:
            raise self.error(f"must be >= {_fmt(ge)}, got {node.value}")
        if le is not None and not value <= le:
            raise self.error(f"must be <= {_fmt(le)}, got {node.value}")
        return value

    def integer(self, *, ge: int | None = None, le: int | None = None) -> int:
        node = self._scalar()
        if node.tag != _INT_TAG:
            raise self.error(f"must be a whole number, got {self._show()}")
        value = int(node.value.replace("_", ""), 0)
        if ge is not None and value < ge:
            raise self.error(f"must be >= {ge}, got {value}")
        if le is not None and value > le:
            raise self.error(f"must be <= {le}, got {value}")
        return value

    def boolean(self) -> bool:
        node = self._scalar()
        if node.tag != _BOOL_TAG:
            raise self.error(f"must be true or false, got {self._show()}")
        return bool(yaml.safe_load(node.value))

    def choice(self, options: Iterable[str]) -> str:
        value = self.string()
        opts = list(options)
        if value not in opts:
            hint = difflib.get_close_matches(value, opts, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise self.error(f"must be one of {', '.join(opts)}, got {value!r}{extra}")
        return value

    def strings(self) -> list[str]:
        """A list of texts; a single text is accepted as a list of one."""
        if isinstance(self.node, yaml.ScalarNode):
            return [self.string()]
        return [item.string() for item in self.sequence()]

    def plain(self) -> Any:
        """The node as plain Python values (for free-form fields such as labels)."""
        return yaml.safe_load(yaml.serialize(self.node))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_yaml(text: str, file: str) -> ConfigNode:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(file, line, "", f"is not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, None, "", f"is not valid YAML: {exc}") from None
    if node is None:  # an empty file reads as an empty mapping
        node = yaml.compose("{}", Loader=yaml.SafeLoader)
        assert node is not None  # "{}" always composes to a mapping node
    return ConfigNode(node, file, "")


def load_yaml(path: str | Path, named_by: str | None = None) -> ConfigNode:
    """``named_by`` says which file pointed here ("included by thresholds.yaml"), so a
    missing or empty file is traced back to the line an operator must fix."""
    p = Path(path)
    source = f" ({named_by})" if named_by else ""
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), None, "", f"does not exist{source}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), None, "", f"is not UTF-8 text ({exc.reason}){source}") from None
    try:
        empty = yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        empty = False  # parse_yaml reports it with its line
    if empty:
        # an empty file is never meant: a truncated copy, or a file saved before it was written
        raise ConfigError(str(p), None, "", f"is empty{source}")
    return parse_yaml(text, str(p))
