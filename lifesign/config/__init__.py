"""Config loading and validation: strict, with the file and line of every error."""

from lifesign.config.errors import ConfigError
from lifesign.config.source import ConfigNode, load_yaml, parse_yaml

__all__ = ["ConfigError", "ConfigNode", "load_yaml", "parse_yaml"]
