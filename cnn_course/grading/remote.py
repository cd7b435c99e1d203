"""The judge's side of the wire: values decoded from the kernel, handles to what stays there.

:class:`Kernel` sends requests to the agent (:mod:`~cnn_course.grading.agent`) through a
``send`` function that the executor provides, and decodes what comes back. Data becomes plain
judge-side objects (ints, floats, strings, lists, dicts, NumPy arrays, torch tensors, torch
layers rebuilt with ``torch.load(weights_only=True)`` from ``torch.nn`` classes only); nothing
the kernel sends is ever unpickled or executed here. What cannot travel as data is a
:class:`RemoteObject`: calling it, reading its attributes or iterating it asks the kernel
again; comparing it or doing arithmetic with it is refused, so a student's object can never
decide a comparison.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import pickle

# classes a RemoteObject may claim as its own (for isinstance): the judge's trusted libraries
TRUSTED = ("torch.", "numpy.", "builtins.")
NAMES = {"__name__", "__qualname__", "__module__", "__doc__"}  # dunders a test may read (strings)


class RemoteError(Exception):
    """An exception the student's code raised in the kernel (its class is named after the original)."""


class NoReply(Exception):
    """The kernel gave no usable answer (its helper was replaced or the reply was not readable)."""


class TimeLimit(BaseException):
    """The kernel was interrupted at the cell's time limit (a BaseException, like KernelGone)."""


class KernelGone(BaseException):
    """The kernel died or ignored an interrupt during a request: the executor takes over (``args[0]``).

    A BaseException, so that no ``except Exception`` of a test can take it for a failed check.
    """


def remote_exception(ename: str, evalue: str, emodule: str = "builtins") -> Exception:
    """The judge-side exception for one the student's code raised.

    The same class where it is a builtin or one of the trusted libraries' (``cnnlib``'s
    ``CheckpointError``, torch's errors), so that a test's ``except`` works; else a
    :class:`RemoteError` of the same name.
    """
    cls = _trusted_class([f"{emodule}.{ename}"], prefixes=(*TRUSTED, "cnnlib."))
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(evalue)
        except Exception:  # a class that wants other arguments
            pass
    return type(ename, (RemoteError,), {})(evalue)


class Kernel:
    """Requests to the agent in the student's kernel; ``send(request) -> reply`` is the transport."""

    def __init__(self, send):
        self._send = send

    def request(self, op: str, **fields):
        reply = self._send(json.dumps({"op": op, **fields}))
        if not isinstance(reply, dict):
            raise NoReply("the grader got no answer from your kernel (did your code replace its helpers?)")
        if "raised" in reply:
            raised = reply["raised"]
            if raised.get("ename") == "KeyboardInterrupt":
                raise TimeLimit(raised.get("evalue", ""))
            raise remote_exception(str(raised.get("ename", "Error")), str(raised.get("evalue", "")),
                                   str(raised.get("emodule", "builtins")))
        return reply

    def get(self, names: list[str]) -> dict:
        found = self.request("get", names=names)["ok"]
        return {name: self.decode(value) for name, value in found.items()}

    def call(self, fn, args: tuple, kwargs: dict):
        reply = self.request("call", payload=self._pickle((fn, args, kwargs)))
        flat = list(args) + list(kwargs.values())
        for index, state in reply.get("sync", []):
            if isinstance(index, int) and 0 <= index < len(flat):
                self._apply(flat[index], state)
        return self.decode(reply["ok"])

    def attribute(self, handle: int, name: str):
        return self.decode(self.request("getattr", h=handle, name=name)["ok"])

    def items(self, handle: int) -> list:
        return [self.decode(v) for v in self.request("items", h=handle)["ok"]]

    def length(self, handle: int) -> int:
        n = self.request("len", h=handle)["ok"]
        if type(n) is not int:
            raise NoReply("a length that is not a number")
        return n

    def item(self, handle: int, key):
        return self.decode(self.request("getitem", h=handle, payload=self._pickle(key))["ok"])

    def text(self, handle: int) -> str:
        return str(self.request("repr", h=handle)["ok"])

    # -- judge to kernel: pickles (the kernel trusts the judge) ----------------------------
    @staticmethod
    def _pickle(obj) -> str:
        buf = io.BytesIO()

        class Pickler(pickle.Pickler):
            def persistent_id(self, o):
                return ("h", object.__getattribute__(o, "_h")) if isinstance(o, RemoteObject) else None

            def reducer_override(self, o):  # a parameter travels with its gradient (a test may set one)
                return _parameter_with_grad(o)

        Pickler(buf, protocol=4).dump(obj)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    # -- kernel to judge: data only --------------------------------------------------------
    def decode(self, enc):
        if not isinstance(enc, dict) or "t" not in enc:
            raise NoReply("a value the grader cannot read")
        return _DECODERS.get(enc["t"], _bad)(self, enc)

    def _apply(self, obj, state) -> None:
        """Give the judge's argument the state the student's function left it in."""
        import numpy as np
        import torch

        if not isinstance(state, dict) or type(obj) is RemoteObject:  # a handle's object lives in the kernel
            return
        if isinstance(obj, torch.nn.Module) and "module" in state:
            _load_module_state(obj, self.decode(state["module"]), state.get("training", []),
                               self.decode(state["grads"]) if "grads" in state else {})
        elif isinstance(obj, torch.optim.Optimizer) and "optimizer" in state:
            try:
                obj.load_state_dict(self.decode(state["optimizer"]))
            except (ValueError, KeyError, TypeError, RuntimeError):
                pass
        elif isinstance(obj, torch.Tensor) and "tensor" in state:
            new = self.decode(state["tensor"])
            with torch.no_grad():
                if isinstance(new, torch.Tensor) and new.shape == obj.shape:
                    obj.copy_(new.to(obj.dtype))
        elif isinstance(obj, np.ndarray) and "array" in state:
            new = self.decode(state["array"])
            if isinstance(new, np.ndarray) and new.shape == obj.shape and obj.flags.writeable:
                np.copyto(obj, new, casting="unsafe")


def _parameter_with_grad(obj):
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.nn.Parameter) or obj.grad is None:
        return NotImplemented
    from collections import OrderedDict

    from torch._utils import _rebuild_parameter_with_state

    return _rebuild_parameter_with_state, (obj.detach(), obj.requires_grad, OrderedDict(), {"grad": obj.grad.detach()})


def _load_module_state(module, state_dict, training, grads) -> None:
    import torch

    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, ValueError, TypeError):
        return
    for m, flag in zip(module.modules(), training, strict=False):
        if isinstance(flag, bool):
            m.training = flag
    for name, p in module.named_parameters():
        g = grads.get(name) if isinstance(grads, dict) else None
        p.grad = g.to(p.dtype) if isinstance(g, torch.Tensor) and g.shape == p.shape else None


def _bad(kernel, enc):
    raise NoReply(f"a value of an unknown kind ({str(enc.get('t'))[:40]})")


def _scalar(kernel, enc):
    v = enc.get("v")
    kinds = {"NoneType": type(None), "bool": bool, "int": int, "float": float, "str": str}
    if type(v) is not kinds[enc["t"]] and not (enc["t"] == "float" and type(v) is int):
        raise NoReply("a value that is not what it says")
    return float(v) if enc["t"] == "float" else v


def _sequence(kernel, enc):
    items = [kernel.decode(v) for v in enc["v"]]
    return items if enc["t"] == "list" else tuple(items)


def _dict(kernel, enc):
    return {kernel.decode(k): kernel.decode(v) for k, v in enc["v"]}


def _complex(kernel, enc):
    return complex(float(enc["v"][0]), float(enc["v"][1]))


def _ndarray(kernel, enc):
    import numpy as np

    dtype = np.dtype(str(enc["dtype"]))
    if dtype.kind not in "biufc":
        raise NoReply("an array of a kind the grader does not read")
    arr = np.frombuffer(base64.b64decode(enc["b64"]), dtype=dtype).reshape([int(d) for d in enc["shape"]]).copy()
    return arr[()] if enc.get("scalar") else arr


def _tensor(kernel, enc):
    import torch

    dtype = getattr(torch, str(enc["dtype"]), None)
    if not isinstance(dtype, torch.dtype):
        raise NoReply("a tensor of a kind the grader does not read")
    shape = [int(d) for d in enc["shape"]]
    raw = base64.b64decode(enc["b64"])
    t = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone() if raw else torch.empty(shape, dtype=dtype)
    if enc.get("grad") and (t.is_floating_point() or t.is_complex()):
        t.requires_grad_(True)
    return t


def _size(kernel, enc):
    import torch

    return torch.Size([int(d) for d in enc["v"]])


def _dtype(kernel, enc):
    import torch

    dtype = getattr(torch, str(enc["v"]), None)
    if not isinstance(dtype, torch.dtype):
        raise NoReply("an unknown dtype")
    return dtype


def _device(kernel, enc):
    import torch

    return torch.device(str(enc["v"]))


def _module(kernel, enc):
    """A model made only of torch.nn's layers, rebuilt here by torch's restricted unpickler."""
    import torch

    allowed = [c for c in vars(torch.nn).values() if inspect.isclass(c) and issubclass(c, torch.nn.Module)]
    try:
        with torch.serialization.safe_globals(allowed):
            module = torch.load(io.BytesIO(base64.b64decode(enc["b64"])), weights_only=True)
    except Exception:  # not rebuildable from data: it stays in the kernel
        module = None
    if isinstance(module, torch.nn.Module):
        return module
    return _handle(kernel, enc["handle"])


def _handle(kernel, enc):
    return RemoteObject(kernel, int(enc["h"]), [str(c) for c in enc.get("mro", [])], bool(enc.get("callable")))


_DECODERS = {"NoneType": _scalar, "bool": _scalar, "int": _scalar, "float": _scalar, "str": _scalar,
             "list": _sequence, "tuple": _sequence, "dict": _dict, "complex": _complex, "ndarray": _ndarray,
             "tensor": _tensor, "size": _size, "dtype": _dtype, "device": _device, "module": _module,
             "handle": _handle}


def _trusted_class(mro: list[str], prefixes: tuple[str, ...] = TRUSTED):
    """The first class of ``mro`` that lives in a trusted library, as the judge's own class object."""
    import importlib

    for dotted in mro:
        if not dotted.startswith(prefixes):
            continue
        module, _, qualname = dotted.rpartition(".")
        try:
            obj = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            continue
        if isinstance(obj, type):
            return obj
    return None


class RemoteObject:
    """Something of the student's that stays in the kernel: calls and attributes go there.

    ``isinstance(obj, nn.Module)`` works through the trusted classes it derives from; comparisons,
    arithmetic and truth-by-content are not forwarded.
    """

    __slots__ = ("_kernel", "_h", "_mro", "_callable")

    def __init__(self, kernel: Kernel, handle: int, mro: list[str], is_callable: bool):
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_h", handle)
        object.__setattr__(self, "_mro", mro)
        object.__setattr__(self, "_callable", is_callable)

    @property
    def __class__(self):  # noqa: D105 (isinstance checks fall back to __class__)
        return _trusted_class(object.__getattribute__(self, "_mro")) or RemoteObject

    @property
    def remote_class(self) -> str:
        """The student's class, as ``module.qualname``."""
        mro = object.__getattribute__(self, "_mro")
        return mro[0] if mro else "?"

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name not in NAMES:
            raise AttributeError(name)
        return object.__getattribute__(self, "_kernel").attribute(object.__getattribute__(self, "_h"), name)

    def __setattr__(self, name, value):
        raise AttributeError("the grader does not change your objects")

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, "_kernel").call(self, args, kwargs)

    def __iter__(self):
        return iter(object.__getattribute__(self, "_kernel").items(object.__getattribute__(self, "_h")))

    def __len__(self) -> int:
        return object.__getattribute__(self, "_kernel").length(object.__getattribute__(self, "_h"))

    def __getitem__(self, key):
        return object.__getattribute__(self, "_kernel").item(object.__getattribute__(self, "_h"), key)

    def __repr__(self) -> str:
        return object.__getattribute__(self, "_kernel").text(object.__getattribute__(self, "_h"))

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self.remote_class} is not numbers: return a NumPy array, a tensor or a number")
