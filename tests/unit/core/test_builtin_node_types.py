"""Built-in node types resolve by name from one lazy table: `add_node("PostgresQueryNode")`
works in a fresh process without importing kaizen.dataflow first, and `import kaizen`
still imports neither kaizen.dataflow nor kaizen.coordination. Fresh interpreters, because
this one has imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kaizen.workflow import Node, get_node_type, register_node, registered_node_types
from kaizen.workflow.node import BUILTIN_NODE_TYPES

REPO = Path(__file__).resolve().parents[3]
LAZY = ("kaizen.dataflow", "kaizen.coordination")


def fresh(body: str) -> Any:
    """Run `body` in a new interpreter; it sets `out`, which comes back as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    code = f"import json, sys\nout = None\n{body}\nprint(json.dumps(out))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_kaizen_and_a_plain_workflow_load_no_dataflow_or_coordination() -> None:
    out = fresh(
        "import kaizen\n"
        f"after_import = {{m: m in sys.modules for m in {LAZY!r}}}\n"
        "b = kaizen.WorkflowBuilder()\n"
        "b.add_node('PythonCodeNode', 'a', {'code': 'result = 1'})\n"
        "assert kaizen.LocalRuntime().execute(b.build())[0] == {'a': {'result': 1}}\n"
        f"after_run = {{m: m in sys.modules for m in {LAZY!r}}}\n"
        "out = [after_import, after_run]"
    )
    assert out == [dict.fromkeys(LAZY, False)] * 2


def test_database_and_coordination_nodes_resolve_without_prior_imports() -> None:
    out = fresh(
        "from kaizen.workflow import WorkflowBuilder\n"
        "b = WorkflowBuilder()\n"
        "b.add_node('PostgresQueryNode', 'q', {'connection': 'postgresql://127.0.0.1:1/x',"
        " 'query': 'SELECT 1'})\n"
        "b.add_node('CoordinationNode', 'c', {'pattern': object()})\n"
        "from kaizen.dataflow import PostgresQueryNode\n"
        "from kaizen.coordination import CoordinationNode\n"
        "types = [cls for _, cls, _ in b._nodes]\n"
        "assert types == [PostgresQueryNode, CoordinationNode], types\n"
        "try:\n"
        "    b.build()\n"
        "except Exception as exc:\n"
        "    out = [type(exc).__name__, str(exc)]\n"
    )
    # The build got as far as the nodes' own config checks: both types are the real ones.
    assert out[0] == "WorkflowValidationError"
    assert "'pattern' must be a coordination pattern" in out[1]
    assert "PostgresQueryNode" not in out[1]  # its config was valid


def test_suggestions_include_built_ins_not_yet_loaded() -> None:
    out = fresh(
        "from kaizen.errors import UnknownNodeTypeError\n"
        "from kaizen.workflow import WorkflowBuilder\n"
        "try:\n"
        "    WorkflowBuilder().add_node('PostgresQueryNod', 'q')\n"
        "except UnknownNodeTypeError as exc:\n"
        "    out = [list(exc.suggestions), 'kaizen.dataflow' in sys.modules]\n"
    )
    assert out[0][0] == "PostgresQueryNode" and out[1] is False


def test_taking_a_built_in_name_clashes_before_the_built_in_is_imported() -> None:
    out = fresh(
        "from kaizen.workflow import Node, register_node, get_node_type\n"
        "class PostgresQueryNode(Node):\n"
        "    pass\n"
        "try:\n"
        "    register_node(PostgresQueryNode)\n"
        "except ValueError as exc:\n"
        "    clash = str(exc)\n"
        "register_node(PostgresQueryNode, replace=True)\n"
        "import kaizen.dataflow\n"  # importing the built-in afterwards must not undo it
        "out = [clash, get_node_type('PostgresQueryNode') is PostgresQueryNode]\n"
    )
    assert "already registered" in out[0] and out[1] is True


@pytest.mark.parametrize("name", sorted(BUILTIN_NODE_TYPES))
def test_every_table_entry_is_the_registered_node(name: str) -> None:
    cls = get_node_type(name)
    assert issubclass(cls, Node) and cls.node_type == name
    assert f"{cls.__module__}:{cls.__qualname__}" == BUILTIN_NODE_TYPES[name]
    assert name in registered_node_types()


@pytest.mark.usefixtures("node_registry")
def test_built_in_resolves_again_after_the_registry_is_reset() -> None:
    from kaizen.workflow import node as node_module

    expected = get_node_type("RedisCommandNode")
    node_module._REGISTRY.clear()  # the module stays imported: its decorator will not rerun
    assert get_node_type("RedisCommandNode") is expected


@pytest.mark.usefixtures("node_registry")
def test_user_nodes_still_register_and_suggest() -> None:
    @register_node
    class PostgresQueryHelper(Node):
        pass

    assert get_node_type("PostgresQueryHelper") is PostgresQueryHelper
    assert "PostgresQueryHelper" in registered_node_types()


# -- the same rules in this process (a mutation run sees only what runs in-process) -------


@pytest.mark.usefixtures("node_registry")
def test_a_built_in_resolved_from_the_table_is_registered_under_its_name() -> None:
    from kaizen.workflow import node as node_module

    expected = get_node_type("RedisCommandNode")
    node_module._REGISTRY.pop("RedisCommandNode")
    assert get_node_type("RedisCommandNode") is expected
    assert node_module._REGISTRY["RedisCommandNode"] is expected
    assert None not in node_module._REGISTRY


@pytest.mark.usefixtures("node_registry")
def test_taking_a_built_in_name_clashes_while_the_built_in_is_unregistered() -> None:
    from kaizen.workflow import node as node_module

    builtin = get_node_type("MergeNode")
    node_module._REGISTRY.pop("MergeNode")

    class MergeNode(Node):
        pass

    with pytest.raises(ValueError, match="'MergeNode' is already registered to MergeNode"):
        register_node(MergeNode)
    assert get_node_type("MergeNode") is builtin
    assert register_node(MergeNode, replace=True) is MergeNode
    assert get_node_type("MergeNode") is MergeNode


@pytest.mark.usefixtures("node_registry")
def test_a_built_in_registering_itself_while_unregistered_is_accepted() -> None:
    from kaizen.workflow import node as node_module

    builtin = get_node_type("MergeNode")
    node_module._REGISTRY.pop("MergeNode")
    assert register_node(builtin) is builtin
    assert node_module._REGISTRY["MergeNode"] is builtin


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        ("collections:OrderedDict", "a class that is not a Node"),
        ("kaizen.workflow.nodes:MergeNode", "a Node registered under another name"),
    ],
)
def test_a_wrong_table_entry_is_a_type_error_naming_it(
    entry: str, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import MappingProxyType

    from kaizen.workflow import node as node_module

    table = {**BUILTIN_NODE_TYPES, "BogusNode": entry}
    monkeypatch.setattr(node_module, "BUILTIN_NODE_TYPES", MappingProxyType(table))
    with pytest.raises(TypeError, match=f"'BogusNode' -> '{entry}' is not a Node registered"):
        get_node_type("BogusNode")
    assert "BogusNode" not in node_module._REGISTRY, what
