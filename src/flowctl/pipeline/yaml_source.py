"""Reading YAML text safely and strictly: duplicate keys are errors, scalars keep their text.

PyYAML silently keeps the last of two equal keys; a pipeline file with two `command:` lines
would then run something its author did not expect, so the loader rejects them.

Mappings and sequences come back as YamlMap / YamlList (plain dict / list subclasses) that
also remember the source text of their plain scalar values. The original Go loader turned
any scalar into a string field verbatim (`on`, `0755`, `1.10`); PyYAML's YAML 1.1 typing
would give True, 493 and 1.1, so string fields and env values use the remembered text.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from flowctl.pipeline.problems import Invalid

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlMap(dict[Any, Any]):
    """A mapping from the file; `raw[key]` is the source text of a scalar value."""

    raw: dict[Any, str]

    def __init__(self) -> None:
        super().__init__()
        self.raw = {}


class YamlList(list[Any]):
    """A sequence from the file; `raw[i]` is the source text of a scalar item (else None)."""

    raw: list[str | None]

    def __init__(self) -> None:
        super().__init__()
        self.raw = []


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and builds YamlMap / YamlList."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._reject_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _reject_duplicate_keys(self, node: MappingNode) -> None:
        # Checked before merge keys (`<<: *base`) are flattened in: overriding a merged key
        # is what merging is for.
        first_seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = first_seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    problem=(
                        f"duplicate key '{key}' (first at line {first.start_mark.line + 1}); "
                        "YAML would silently keep only the last one, so remove one of them"
                    ),
                    problem_mark=key_node.start_mark,
                )

    def construct_yaml_map(self, node: MappingNode) -> Generator[YamlMap, None, None]:
        data = YamlMap()
        yield data  # yielded first so that recursive (anchored) structures work
        data.update(self.construct_mapping(node))
        for key_node, value_node in node.value:  # merged pairs included by now
            if isinstance(value_node, ScalarNode):
                data.raw[self.construct_object(key_node)] = value_node.value

    def construct_yaml_seq(self, node: SequenceNode) -> Generator[YamlList, None, None]:
        data = YamlList()
        yield data
        data.extend(self.construct_sequence(node))
        data.raw = [item.value if isinstance(item, ScalarNode) else None for item in node.value]


StrictSafeLoader.add_constructor("tag:yaml.org,2002:map", StrictSafeLoader.construct_yaml_map)
StrictSafeLoader.add_constructor("tag:yaml.org,2002:seq", StrictSafeLoader.construct_yaml_seq)


def read_yaml(text: str) -> Any:
    """The single document in `text` (None when there is none); Invalid on broken YAML."""
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as error:
        raise _invalid_from(error) from None
    except yaml.reader.ReaderError as error:  # a control character: a position, no mark
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise Invalid(
            f"line {line}, column {column}",
            f"invalid YAML: the control character #x{error.character:04x} is not allowed",
        ) from None
    except yaml.YAMLError as error:
        raise Invalid("", f"invalid YAML: {_one_line(str(error))}") from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise Invalid("", "invalid YAML: nested too deeply") from None


def _invalid_from(error: yaml.MarkedYAMLError) -> Invalid:
    mark = error.problem_mark or error.context_mark
    place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = _one_line(error.problem or error.context or "unreadable YAML")
    if error.context and error.problem:
        context = _one_line(error.context)
        if problem.startswith("but "):  # "expected a single document..., but found another"
            problem = f"{context}, {problem}"
        else:
            if error.context_mark and error.context_mark is not mark:
                line, column = error.context_mark.line + 1, error.context_mark.column + 1
                context += f" that starts at line {line}, column {column}"
            problem += f" ({context})"
    if "'\\t'" in problem:
        problem += "; indent with spaces, not tabs"
    return Invalid(place, f"invalid YAML: {problem}")


def _one_line(text: str) -> str:
    return " ".join(text.split())
