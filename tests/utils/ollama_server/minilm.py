"""all-MiniLM-L6-v2 in numpy: the BERT encoder, mean pooling and L2 normalisation.

Why not sentence-transformers: importing torch and sentence-transformers took ~6 s (more than
the server's whole start budget), ~1.5 GB of install and ~900 MB of resident memory, all to
run a 22M-parameter encoder. This is the same forward pass in float32 numpy over the same
safetensors weights and the same ``tokenizer.json`` (through the Rust ``tokenizers``), and it
matches sentence-transformers' vectors to ~1e-6 (tests/unit/utils/data/minilm_golden.json).

What is implemented is exactly what the shipped configs describe, and loading checks them:
a BERT with absolute positions and exact (erf) GELU, mean pooling over the attention mask,
then normalisation; anything else fails loud instead of computing something different.
Import is cheap: numpy, tokenizers and safetensors load in :meth:`MiniLM.load`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.utils.errors import ToolkitError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["MiniLM", "MiniLMConfigError"]

_BATCH = 32  # sentences per forward pass, as sentence-transformers' default
_BATCH_TOKENS = 4096  # padded tokens per forward pass: one long text does not pad 31 short
# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution of GELU's output.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class MiniLMConfigError(ToolkitError, ValueError):
    """The model directory is missing a file or describes a model this encoder does not run."""


@dataclass(frozen=True)
class _Config:
    hidden: int
    heads: int
    layers: int
    eps: float
    max_tokens: int
    normalize: bool


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MiniLMConfigError(f"cannot read {path}: {exc}") from exc


def _require(path: Path, key: str, actual: object, expected: object) -> None:
    if actual != expected:
        raise MiniLMConfigError(
            f"{path} has {key}={actual!r}; this numpy encoder implements {key}={expected!r} only"
        )


def _config(model_dir: Path) -> _Config:
    bert_path = model_dir / "config.json"
    bert = _read_json(bert_path)
    _require(bert_path, "model_type", bert.get("model_type"), "bert")
    _require(bert_path, "hidden_act", bert.get("hidden_act"), "gelu")
    _require(bert_path, "position_embedding_type", bert.get("position_embedding_type"), "absolute")
    pooling_path = model_dir / "1_Pooling" / "config.json"
    pooling = _read_json(pooling_path)
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    _require(pooling_path, "pooling modes", modes, ["pooling_mode_mean_tokens"])
    modules = _read_json(model_dir / "modules.json")
    types = [m.get("type", "") for m in modules]
    st_path = model_dir / "sentence_bert_config.json"
    max_tokens = int(_read_json(st_path)["max_seq_length"])
    if max_tokens > int(bert["max_position_embeddings"]):
        raise MiniLMConfigError(f"{st_path}: max_seq_length {max_tokens} exceeds the positions")
    return _Config(
        hidden=int(bert["hidden_size"]),
        heads=int(bert["num_attention_heads"]),
        layers=int(bert["num_hidden_layers"]),
        eps=float(bert["layer_norm_eps"]),
        max_tokens=max_tokens,
        normalize="sentence_transformers.models.Normalize" in types,
    )


def gelu(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """BERT's exact GELU, x * Phi(x), with erf from a rational approximation (numpy has none).

    In place on temporaries: it runs on every intermediate activation, and allocating a
    fresh array per operation made it a third of the forward pass.
    """
    import numpy as np

    f32 = np.float32
    # erf(6) is 1 in float32; capping keeps exp(-z*z) out of denormals (see _softmax).
    z = np.abs(x)
    z *= f32(0.7071067811865476)
    np.minimum(z, f32(6.0), out=z)
    t = z * f32(_ERF_P)
    t += f32(1.0)
    np.reciprocal(t, out=t)
    poly = t * f32(_ERF_A[4])
    for coefficient in reversed(_ERF_A[:4]):
        poly += f32(coefficient)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    np.subtract(f32(1.0), poly, out=poly)  # erf(|x|/sqrt 2)
    np.copysign(poly, x, out=poly)
    poly += f32(1.0)  # 1 + erf(x/sqrt 2)
    poly *= x
    poly *= f32(0.5)
    return poly


def _layer_norm(
    x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32], eps: float
) -> NDArray[np.float32]:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)
    normed: NDArray[np.float32] = centered / np.sqrt(var + np.float32(eps)) * weight + bias
    return normed


def _softmax(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    """Softmax over the last axis with weights below e^-60 set to exactly 0.

    Why: exp() of -87..-103 gives float32 denormals, and a matmul over denormals runs ~170x
    slower on x86 (numpy cannot set flush-to-zero). A weight under e^-60 is far below
    float32 resolution of the sum, so zeroing it changes no result.
    """
    import numpy as np

    shifted = scores - scores.max(axis=-1, keepdims=True)
    weights: NDArray[np.float32] = np.zeros_like(shifted)
    np.exp(shifted, out=weights, where=shifted > np.float32(-60.0))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights


class MiniLM:
    """The encoder with its tokenizer; ``encode`` gives sentence-transformers' vectors."""

    def __init__(
        self, config: _Config, weights: dict[str, Any], tokenizer: Any, *, threads: int = 1
    ) -> None:
        self.config = config
        self.threads = threads
        self._w = weights
        self._tokenizer = tokenizer

    @classmethod
    def load(cls, model_dir: Path) -> MiniLM:
        """Read configs, ``tokenizer.json`` and ``model.safetensors`` from ``model_dir``."""
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = _config(model_dir)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads and truncates to 128; sentence-transformers uses max_seq_length.
        tokenizer.enable_truncation(max_length=config.max_tokens)
        tokenizer.no_padding()
        weights_path = model_dir / "model.safetensors"
        try:
            raw = load_file(str(weights_path))
        except (OSError, ValueError) as exc:
            raise MiniLMConfigError(f"cannot read {weights_path}: {exc}") from exc
        weights: dict[str, Any] = {}
        for name, tensor in raw.items():
            if name.endswith(".position_ids") or name.startswith("pooler."):
                continue  # constant positions; BERT's pooler is not part of this model
            if tensor.dtype != np.float32:
                raise MiniLMConfigError(f"{weights_path}: {name} is {tensor.dtype}, not float32")
            # Linear layers store (out, in); keep them transposed once for x @ W.
            linear = tensor.ndim == 2 and name.startswith("encoder.")
            weights[name] = np.ascontiguousarray(tensor.T if linear else tensor)
        for i in range(config.layers):
            prefix = f"encoder.layer.{i}.attention.self."
            weights[f"{prefix}qkv.weight"] = np.concatenate(
                [weights.pop(f"{prefix}{p}.weight") for p in ("query", "key", "value")], axis=1
            )
            weights[f"{prefix}qkv.bias"] = np.concatenate(
                [weights.pop(f"{prefix}{p}.bias") for p in ("query", "key", "value")]
            )
        return cls(config, weights, tokenizer)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids as the encoder sees them: [CLS] ... [SEP], truncated to max_tokens."""
        return [e.ids for e in self._tokenizer.encode_batch(texts)]

    def overflows(self, texts: list[str]) -> list[bool]:
        """Per text: truncation to max_tokens cut something off (``truncate: false``)."""
        return [bool(e.overflowing) for e in self._tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        """One vector per text (shape ``(len(texts), hidden)``), in the order given."""
        import numpy as np
        from threadpoolctl import threadpool_limits

        ids = self.token_ids(texts)
        out = np.zeros((len(texts), self.config.hidden), dtype=np.float32)
        # Similar lengths together (padding never changes a result, it only costs time).
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        chunks: list[list[int]] = []
        for i in order:
            fits = chunks and (len(chunks[-1]) + 1) * len(ids[i]) <= _BATCH_TOKENS
            if fits and len(chunks[-1]) < _BATCH:
                chunks[-1].append(i)
            else:
                chunks.append([i])
        # Single-threaded BLAS: these matrices are small, and OpenBLAS threads spinning
        # against a busy CPU (llama.cpp, other tests) made a forward pass up to 50x slower.
        with threadpool_limits(limits=self.threads, user_api="blas"):
            for chunk in chunks:
                out[chunk] = self._encode_batch([ids[i] for i in chunk])
        return out

    def _encode_batch(self, batch: list[list[int]]) -> NDArray[np.float32]:
        import numpy as np

        c, w = self.config, self._w
        length = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = w["embeddings.word_embeddings.weight"][input_ids]
        x = x + w["embeddings.position_embeddings.weight"][:length]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], c.eps)
        # Padded keys get a large negative score: zero weight after softmax, as in BERT.
        key_bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        for i in range(c.layers):
            x = self._layer(x, key_bias, f"encoder.layer.{i}.")
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        if c.normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.maximum(norms, np.float32(1e-12))
        vectors: NDArray[np.float32] = pooled.astype(np.float32)
        return vectors

    def _layer(
        self, x: NDArray[np.float32], key_bias: NDArray[np.float32], prefix: str
    ) -> NDArray[np.float32]:
        import numpy as np

        c, w = self.config, self._w
        batch, length, hidden = x.shape
        head = hidden // c.heads
        # Dense layers on one (tokens, hidden) matrix: a single large GEMM per weight.
        x = x.reshape(batch * length, hidden)

        def dense(h: NDArray[np.float32], name: str) -> NDArray[np.float32]:
            out: NDArray[np.float32] = h @ w[f"{prefix}{name}.weight"]
            out += w[f"{prefix}{name}.bias"]
            return out

        qkv = dense(x, "attention.self.qkv")
        qkv = qkv.reshape(batch, length, 3, c.heads, head).transpose(2, 0, 3, 1, 4)
        # Contiguous heads: numpy's stacked matmul uses BLAS only on contiguous operands.
        q, k, v = (np.ascontiguousarray(qkv[j]) for j in range(3))
        q *= np.float32(1.0 / np.sqrt(head))
        scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))
        scores += key_bias
        probs = _softmax(scores)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
        attn = dense(context, "attention.output.dense")
        attn += x
        x = _layer_norm(
            attn,
            w[f"{prefix}attention.output.LayerNorm.weight"],
            w[f"{prefix}attention.output.LayerNorm.bias"],
            c.eps,
        )
        out = dense(gelu(dense(x, "intermediate.dense")), "output.dense")
        out += x
        out = _layer_norm(
            out, w[f"{prefix}output.LayerNorm.weight"], w[f"{prefix}output.LayerNorm.bias"], c.eps
        )
        return out.reshape(batch, length, hidden)
