"""Files we ship are composed by libyaml: the same data, the same lines, the same refusals."""

from __future__ import annotations

import pytest
import yaml

import wfmcli.profiles as builtin
from wfmcli.config.yamlfile import parse_yaml
from wfmcli.errors import ConfigError

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


@needs_libyaml
@pytest.mark.parametrize("name", sorted(builtin.builtin_files()))
def test_trusted_parse_matches_the_careful_one(name: str) -> None:
    text = builtin.builtin_files()[name].read_text(encoding="utf-8")
    careful = parse_yaml(text, name)
    fast = parse_yaml(text, name, trusted=True)
    assert fast.data == careful.data
    assert fast.lines == careful.lines


@needs_libyaml
def test_trusted_parse_still_refuses_duplicate_keys_and_alias_bombs() -> None:
    with pytest.raises(ConfigError, match=r"x:3: duplicate key 'a.b'"):
        parse_yaml("a:\n  b: 1\n  b: 2\n", "x", trusted=True)
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
        for i in range(6))
    with pytest.raises(ConfigError, match="through aliases"):
        parse_yaml(bomb, "x", trusted=True)
    with pytest.raises(ConfigError, match=r"x:2:\d+: invalid YAML"):
        parse_yaml("a: 1\n b: [\n", "x", trusted=True)
