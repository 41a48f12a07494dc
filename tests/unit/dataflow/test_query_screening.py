"""Query screening, refused before anything is sent: each refusal is an UnsafeQueryError that
names the backend (`database`), the place and the value, and every place a MongoDB
operation takes a document is screened for server-side JavaScript. The MongoDB client points
at a closed port on 127.0.0.1 with a short timeout: reaching the server would be a different
error (a timeout), so a refusal proves nothing was sent."""

from __future__ import annotations

from typing import Any

import pytest

from kaizen.dataflow import MongoDatabase, UnsafeQueryError
from kaizen.dataflow._sql import check_params, check_query

_JS = {"body": "function() { return 1 }", "args": [], "lang": "js"}


@pytest.fixture
def mongo() -> Any:
    db = MongoDatabase("mongodb://127.0.0.1:1", "d", timeout_ms=200)
    yield db
    db.close()


# -- SQL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", None, 7])
def test_query_refusal_names_the_backend_and_the_value(query: object) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        check_query(query, "mysql")
    assert info.value.database == "mysql"
    assert str(info.value) == f"mysql: query must be a non-empty SQL string, got {query!r}"


def test_a_query_is_returned_unchanged() -> None:
    assert check_query("SELECT 1", "postgresql") == "SELECT 1"


@pytest.mark.parametrize(
    ("params", "shown"),
    [("1; DROP TABLE t", "str '1; DROP TABLE t'"), (b"x", "bytes b'x'"), (bytearray(b"y"), "")],
)
def test_text_params_refused_naming_the_type_and_the_fix(params: object, shown: str) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        check_params(params, "postgresql")
    text = str(info.value)
    assert info.value.database == "postgresql"
    assert text.startswith("postgresql: params must be a sequence or mapping of values, got ")
    assert f"got {type(params).__name__} " in text and shown in text
    assert text.endswith("pass values as params=[value] and use placeholders in the query")


@pytest.mark.parametrize("params", [42, {1, 2}, 3.5, object()])
def test_other_non_sequences_refused_naming_the_type(params: object) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        check_params(params, "mysql")
    assert info.value.database == "mysql"
    assert str(info.value) == (
        f"mysql: params must be a sequence or mapping, got {type(params).__name__}"
    )


# -- MongoDB --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "args", "label", "operator"),
    [
        ("find", {"filter": {"$where": "this.a == 1"}}, "filter", "$where"),
        ("count", {"filter": {"$or": ({"a": 1}, {"$where": "1"})}}, "filter", "$where"),
        (
            "find_one",
            {"filter": {"$expr": {"$function": _JS}}},
            "filter",
            "$function",
        ),
        ("delete_many", {"filter": {"$where": "true"}}, "filter", "$where"),
        ("insert_one", {"document": {"a": {"$where": "1"}}}, "document", "$where"),
        ("insert_many", {"documents": [{"a": 1}, {"$function": _JS}]}, "documents[]", "$function"),
        (
            "update_one",
            {"filter": {}, "update": {"$set": {"a": {"$function": _JS}}}},
            "update",
            "$function",
        ),
        (
            "aggregate",
            {"pipeline": [{"$group": {"_id": None, "x": {"$accumulator": {"init": "f"}}}}]},
            "pipeline",
            "$accumulator",
        ),
        (
            "aggregate",
            {"pipeline": ({"$lookup": {"from": "o", "pipeline": [{"$match": {"$where": "1"}}]}},)},
            "pipeline",
            "$where",
        ),
    ],
)
def test_javascript_refused_in_every_place(
    mongo: Any, operation: str, args: dict[str, Any], label: str, operator: str
) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        mongo.run(operation, "c", **args)
    assert info.value.database == "mongodb"
    assert str(info.value) == (
        f"mongodb: {label} uses {operator}, which runs JavaScript on the server; express the "
        "condition with query operators instead"
    )


@pytest.mark.parametrize(
    ("operation", "args", "label"),
    [
        ("insert_one", {}, "document"),
        ("update_one", {"filter": {}}, "update"),
        ("update_many", {"filter": {}, "update": None}, "update"),
        ("insert_many", {"documents": [{"a": 1}, None]}, "documents[]"),
        ("find", {"filter": ["a"]}, "filter"),
    ],
)
def test_a_missing_or_non_mapping_document_is_refused(
    mongo: Any, operation: str, args: dict[str, Any], label: str
) -> None:
    """Only a filter may be omitted: an absent document is never sent as an empty one."""
    with pytest.raises(UnsafeQueryError) as info:
        mongo.run(operation, "c", **args)
    assert info.value.database == "mongodb"
    value = args.get(label.rstrip("[]"))
    shown = value[1] if label == "documents[]" else value
    assert str(info.value) == (
        f"mongodb: {label} must be a document (mapping), got {type(shown).__name__} {shown!r}"
    )


@pytest.mark.parametrize("projection", ["name", ["name", 1], 5])
def test_projection_of_another_shape_is_refused_naming_it(mongo: Any, projection: object) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        mongo.run("find", "c", projection=projection)
    assert info.value.database == "mongodb"
    assert str(info.value) == (
        "mongodb: projection must be a document or a list of field names, got "
        f"{type(projection).__name__} {projection!r}"
    )


def test_projection_script_refusal_names_the_backend(mongo: Any) -> None:
    with pytest.raises(UnsafeQueryError) as info:
        mongo.run("find", "c", projection=["a", "$where"])
    assert info.value.database == "mongodb"
