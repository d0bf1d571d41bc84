"""Integrated Gradients for text: attribute to the embedding vectors of the input tokens.

Token ids are integers, so there is no straight line between two inputs. Section 6 of the
paper attributes to the output of the embedding layer instead: with e = embedding(ids),
the zero embedding e' = 0 as baseline, and G(e) the model with e in place of the lookup,

    IG_{t,d}(e) = e_{t,d} * integral_0^1 dG(alpha e)/de_{t,d} d alpha,

and a token's score is the sum over its embedding dimensions d. Completeness reads
sum_{t,d} IG_{t,d} = G(e) - G(0) = F(ids) - F(zero embedding).

G is the model itself with a forward hook on the embedding that returns the path point
alpha e instead of the looked-up vectors; everything else (quadrature, batching over steps,
the delta) is :func:`iglib.integrated_gradients` of G from e' = 0 to e.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ...arguments import MATERIALISE, Model, TargetLike, check_device, check_model
from ...integrated_gradients import integrated_gradients


def check_ids(ids: Any, embedding: nn.Embedding, name: str = "ids") -> Tensor:
    """``ids`` must be an integer tensor [N, T] of valid rows of ``embedding``, on its device."""
    if not isinstance(ids, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids [N, T], got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer token ids (torch.long), got dtype {ids.dtype}; to attribute to "
            "float inputs use iglib.integrated_gradients"
        )
    if ids.dim() != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise ValueError(f"{name} must have shape [N, T] with N, T >= 1 (batch first), got {tuple(ids.shape)}")
    check_device(ids, name)
    check_device(embedding.weight, "the embedding's weight", fix=MATERIALISE)
    if ids.device != embedding.weight.device:
        raise ValueError(f"{name} is on {ids.device} but the embedding is on {embedding.weight.device}")
    if ids.min() < 0 or ids.max() >= embedding.num_embeddings:
        raise ValueError(
            f"{name} holds ids from {int(ids.min())} to {int(ids.max())}, but the embedding has "
            f"{embedding.num_embeddings} rows (0..{embedding.num_embeddings - 1})"
        )
    return ids


def check_embedding(model: Any, embedding: Any) -> nn.Embedding:
    """``embedding`` must be an ``nn.Embedding`` and, when ``model`` is a module, one of its submodules."""
    if not isinstance(embedding, nn.Embedding):
        raise TypeError(f"embedding must be an nn.Embedding (the layer to attribute to), got {type(embedding).__name__}")
    if isinstance(model, nn.Module) and not any(m is embedding for m in model.modules()):
        raise ValueError(
            f"embedding is not a submodule of the model ({type(model).__name__}); pass the model's own "
            "layer, e.g. embedding=model.embedding"
        )
    return embedding


class _EmbeddingsInPlace:
    """G(points) = model(ids, *args) with ``embedding``'s output replaced by ``points`` [k N, T, D].

    The ids are repeated k times (step-major, like the points) so the model sees a batch of the
    right size; the embedding must be called exactly once per forward pass.
    """

    def __init__(self, model: Model, embedding: nn.Embedding, ids: Tensor):
        self.model, self.embedding, self.ids = model, embedding, ids

    def __call__(self, points: Tensor, *args: Any) -> Tensor:
        k = points.shape[0] // self.ids.shape[0]
        calls = []

        def replace(module: nn.Module, inputs: Any, output: Tensor) -> Tensor:
            calls.append(tuple(output.shape))
            if output.shape != points.shape:
                raise ValueError(
                    f"the embedding produced shape {tuple(output.shape)} but the ids' embeddings have shape "
                    f"{tuple(points.shape)}: it is called on something other than ids (shared between "
                    "encoder and decoder?). Give the attributed input its own nn.Embedding."
                )
            return points

        handle = self.embedding.register_forward_hook(replace)
        try:
            out = self.model(self.ids.repeat(k, 1), *args)
        finally:
            handle.remove()
        if len(calls) != 1:
            raise ValueError(
                f"the embedding was called {len(calls)} times in one forward pass of the model; "
                "embedding_integrated_gradients replaces its output on ids, so it must be called exactly once"
            )
        return out


def embedding_integrated_gradients(
    model: Model,
    embedding: nn.Embedding,
    ids: Tensor,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """IG of ``model(ids, *additional_forward_args)``'s ``target`` score w.r.t. ``embedding``'s output.

    Straight line from the zero embedding to e = embedding(ids). Same arguments as
    :func:`iglib.integrated_gradients` (``target``, ``n_steps``, ``method``,
    ``internal_batch_size``); a drop-in for ``captum.attr.LayerIntegratedGradients(model,
    embedding)`` with a zero baseline embedding. Returns attributions [N, T, D] (sum over
    dimension -1 for one score per token) and, with ``return_convergence_delta``, also
    delta = sum IG - (F(ids) - F(zero embedding)), one value per example.
    """
    check_embedding(model, embedding)
    ids = check_ids(ids, embedding)
    with torch.no_grad():
        e = embedding(ids)
    check_model(model, e)
    g = _EmbeddingsInPlace(model, embedding, ids)
    return integrated_gradients(
        g,
        e,
        torch.zeros_like(e),
        target=target,
        additional_forward_args=additional_forward_args,
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=return_convergence_delta,
    )


def token_attributions(attributions: Tensor) -> Tensor:
    """One score per token: the sum of IG over the embedding dimensions, [N, T, D] -> [N, T]."""
    if not isinstance(attributions, Tensor) or attributions.dim() != 3:
        raise ValueError(
            f"attributions must be a tensor [N, T, D], got "
            f"{tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__}"
        )
    return attributions.sum(-1)
