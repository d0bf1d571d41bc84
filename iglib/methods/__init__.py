"""The attribution methods the paper measures Integrated Gradients against.

Each is called like ``captum.attr`` methods and like ``iglib.integrated_gradients``:

    attribute(model, inputs, baselines=None, target=None, additional_forward_args=None, **options)

and returns a tensor shaped like ``inputs``. Methods without a baseline accept it (so
the axiom checks can call every method the same way) and ignore it.

- ``gradient``: dF/dx at x.
- ``gradient_x_input``: (x - x') * dF/dx at x.
- ``deconvnet``, ``guided_backprop``: modified gradients through ReLU gates.
- ``deeplift``: rescale rule, (x - x') * modified gradient.
- ``lrp``: epsilon rule, x * modified gradient (``epsilon=0.01``).
- ``smoothgrad``: mean gradient over noisy copies (``n_samples``, ``stdev``, ``seed``).
- ``expected_gradients``: IG averaged over references and random alphas (``n_samples``, ``seed``).

The modified-gradient methods see every nonlinearity however it is written (``nn.ReLU``,
``F.relu``, ``torch.relu``, ``Tensor.relu_``, ReLU6, ...), and refuse, with a ValueError
naming the operation, networks on which their rule would not be the method's true result.
"""
from .deconvnet import deconvnet
from .deeplift import deeplift
from .expected_gradients import expected_gradients
from .gradient import gradient
from .gradient_x_input import gradient_x_input
from .guided_backprop import guided_backprop
from .lrp import lrp
from .smoothgrad import smoothgrad

__all__ = [
    "gradient",
    "gradient_x_input",
    "deconvnet",
    "guided_backprop",
    "deeplift",
    "lrp",
    "smoothgrad",
    "expected_gradients",
]
