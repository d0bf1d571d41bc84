"""One table of torch operations, shared by exact IG (:mod:`iglib.exact`) and the backward-rule
methods (:mod:`iglib.methods._rules`): which operations are linear, which multiply or divide,
which are elementwise nonlinearities (and their parameters), which are piecewise linear with
kinks a path can cross, which are smooth, and which change branch in ways neither tracks.

Names are normalised once, by :func:`op_name`: ``torch.relu``, ``F.relu``, ``Tensor.relu_`` are
``relu``; ``__mul__`` is ``mul``, ``__imul__`` (in place) is ``mul`` too, ``__rmul__`` is ``rmul``.
"""
from __future__ import annotations

from typing import Any

from torch import nn

def op_name(func: Any) -> str:
    """The op's name without in-place or operator decoration: ``__iadd__`` -> add, ``relu_`` -> relu."""
    name = getattr(func, "__name__", repr(func))
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name[:1] == "i" and name[1:] in ("add", "sub", "mul", "truediv", "div", "matmul", "pow"):
            name = name[1:]
        return name
    return name.rstrip("_") or name


def is_inplace(func: Any, kwargs: dict) -> bool:
    name = getattr(func, "__name__", "")
    if name.startswith("__") and name.endswith("__"):
        return name[2:-2] in ("setitem", "iadd", "isub", "imul", "itruediv", "idiv", "imatmul", "ipow")
    return name.endswith("_") or bool(kwargs.get("inplace", False))



# Keyword parameters (after the input, in positional order) of each elementwise op.
PARAMETERS = {
    "relu": ("inplace",),
    "relu6": ("inplace",),
    "hardtanh": ("min_val", "max_val", "inplace"),
    "clamp": ("min", "max"),
    "clip": ("min", "max"),
    "clamp_min": ("min",),
    "clamp_max": ("max",),
    "sigmoid": (),
    "tanh": (),
    "softplus": ("beta", "threshold"),
    "elu": ("alpha", "inplace"),
    "leaky_relu": ("negative_slope", "inplace"),
    "gelu": ("approximate",),
    "silu": ("inplace",),
}
DEFAULTS = {
    "inplace": False, "min_val": -1.0, "max_val": 1.0, "min": None, "max": None, "beta": 1.0,
    "threshold": 20.0, "alpha": 1.0, "negative_slope": 0.01, "approximate": "none",
}
GATES = ("relu", "relu6", "hardtanh", "clamp", "clip", "clamp_min", "clamp_max")
NONLINEARITY_MODULES = (
    nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.ELU, nn.LeakyReLU, nn.GELU, nn.SiLU,
)


# Operations linear in every input-dependent argument (the strict mode's allow list).
LINEAR = frozenset("""
    add radd sub rsub neg negative pos positive cat concat concatenate stack hstack vstack dstack
    reshape view view_as flatten unflatten squeeze unsqueeze permute transpose t movedim moveaxis
    swapaxes swapdims contiguous clone expand expand_as broadcast_to repeat tile narrow select split
    split_with_sizes chunk unbind tensor_split getitem setitem get index_select gather take_along_dim
    masked_select masked_fill where index_add index_copy index_put scatter scatter_add roll flip
    fliplr flipud rot90 unfold fold sum mean cumsum diff diagonal diag tril triu pad constant_pad_nd
    avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d
    interpolate upsample upsample_nearest upsample_bilinear pixel_shuffle pixel_unshuffle
    channel_shuffle native_channel_shuffle to type type_as float double half bfloat16 cpu cuda
    requires_grad retain_grad copy identity dropout dropout1d dropout2d dropout3d alpha_dropout
    feature_alpha_dropout batch_norm as_strided sum_to_size
""".split())
# Linear in each argument separately: fine while at most one argument depends on the input.
MULTILINEAR = frozenset("""
    mul rmul multiply matmul rmatmul mm bmm mv dot vdot inner outer ger einsum tensordot kron
    addmm addmv addbmm baddbmm addr linear bilinear conv1d conv2d conv3d conv_transpose1d
    conv_transpose2d conv_transpose3d conv_tbc
""".split())
DIVISION = frozenset(("div", "divide", "true_divide", "truediv"))
# Division with the input-dependent tensor in the denominator, or a power with it in the exponent.
REFLECTED = frozenset(("rtruediv", "rdiv", "rfloordiv", "rpow"))
POWERS = frozenset(("pow", "float_power"))
# Their output does not depend on the input's values.
CONSTANT = frozenset("""
    zeros_like ones_like empty_like full_like rand_like randn_like randint_like new_zeros new_ones
    new_empty new_full new_tensor detach
""".split())
MAX_POOLING = frozenset("""
    max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices
    max_pool3d_with_indices adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d
    adaptive_max_pool1d_with_indices adaptive_max_pool2d_with_indices adaptive_max_pool3d_with_indices
""".split())
# Smooth (curved) operations: exact IG cannot integrate them; DeepLIFT and LRP have no rule for the
# non-elementwise ones.
SMOOTH = frozenset(
    "sigmoid tanh gelu silu mish softplus softsign tanhshrink elu selu celu hardswish logsigmoid "
    "softmax log_softmax softmin logsumexp glu exp exp2 expm1 log log2 log10 log1p xlogy "
    "sin cos tan sinh cosh asin acos atan atan2 asinh acosh atanh erf erfc erfinv sinc "
    "sqrt rsqrt reciprocal square norm var std var_mean std_mean prod cumprod cdist "
    "layer_norm group_norm instance_norm rms_norm local_response_norm normalize "
    "cosine_similarity pairwise_distance scaled_dot_product_attention multi_head_attention_forward".split()
)
# Piecewise-linear or piecewise-constant operations whose branch changes exact IG does not track.
UNTRACKED = frozenset(
    "sort argsort topk kthvalue median nanmedian cummax cummin adaptive_max_pool1d adaptive_max_pool2d "
    "adaptive_max_pool3d max_pool3d max_pool3d_with_indices adaptive_max_pool1d_with_indices "
    "adaptive_max_pool2d_with_indices adaptive_max_pool3d_with_indices "
    "fractional_max_pool2d fractional_max_pool3d lp_pool1d lp_pool2d "
    "threshold hardshrink softshrink sign sgn floor ceil round trunc frac heaviside floor_divide floordiv".split()
)
# Elementwise piecewise-linear operations whose kinks exact IG tracks, and the max pools it tracks.
KINK_AT_ZERO = frozenset("relu leaky_relu prelu rrelu abs absolute".split())
PIECEWISE_LINEAR = KINK_AT_ZERO | frozenset(
    "hardtanh relu6 hardsigmoid clamp clip clamp_min clamp_max maximum minimum fmax fmin max min".split()
)
TRACKED_MAX_POOLS = frozenset("max_pool1d max_pool2d max_pool1d_with_indices max_pool2d_with_indices".split())
