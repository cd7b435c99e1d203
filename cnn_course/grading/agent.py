"""The judge's agent inside a student's kernel: it only produces values, it never judges.

:mod:`~cnn_course.grading.judge` sends this file's text to the kernel before each graded test
cell and then asks it, one request at a time, for the values a test needs: the value of an
answer (``get``), the result of calling the student's function on the judge's inputs
(``call``), an attribute, the items of an iterable. Each request is one ``execute_request``
whose code is ``__cnn_judge__.run('<json>')``; the answer comes back as one ``display_data``
output of type :data:`MIME` holding JSON.

Values travel as data (numbers, strings, lists, arrays and tensors as raw bytes, modules made
only of ``torch.nn`` layers as a torch checkpoint); anything else stays in the kernel as a
numbered handle. The judge's inputs arrive pickled (the judge trusts nothing that comes back:
it decodes data itself and never unpickles what the kernel sends). After a call, the new state
of the arguments that are modules, optimizers, tensors or arrays goes back too, so the judge
sees what the student's function did to them.

Nothing here is secret, and student code can replace any of it: then the agent lies or says
nothing, and a lie can only score where the student already knows the right value.
This file is plain Python (the standard library, NumPy and torch, imported when needed).
"""

import base64
import io
import json
import pickle

MIME = "application/vnd.cnn-course.judge+json"
MAX_BYTES = 64 * 2**20


class Agent:
    """Serves the judge's requests in the student's namespace ``ns``."""

    def __init__(self, ns):
        self.ns = ns
        self.handles = {}

    # -- the request loop ----------------------------------------------------------------
    def run(self, request):
        from IPython.display import display

        try:
            req = json.loads(request)
            reply = getattr(self, "op_" + req["op"])(req)
        except BaseException as exc:  # the student's error (or an interrupt) is the reply
            reply = {"raised": {"ename": type(exc).__name__, "emodule": type(exc).__module__,
                                "evalue": str(exc)[:4000]}}
        display({MIME: json.dumps(reply)}, raw=True)

    # -- operations ------------------------------------------------------------------------
    def op_get(self, req):
        found = {}
        for name in req["names"]:
            if name in self.ns:
                found[name] = self.encode(self.ns[name])
        return {"ok": found}

    def op_call(self, req):
        fn, args, kwargs = self.unpickle(req["payload"])
        result = fn(*args, **kwargs)
        flat = list(args) + list(kwargs.values())
        mine = {id(h) for h in self.handles.values()}  # the kernel's own objects: nothing to send back
        return {"ok": self.encode(result),
                "sync": [[i, s] for i, a in enumerate(flat) if id(a) not in mine and (s := self.state(a))]}

    def op_getattr(self, req):
        return {"ok": self.encode(getattr(self.handles[req["h"]], req["name"]))}

    def op_items(self, req):
        items = list(self.handles[req["h"]])
        if len(items) > 100_000:
            raise ValueError("too many items to grade")
        return {"ok": [self.encode(v) for v in items]}

    def op_len(self, req):
        return {"ok": len(self.handles[req["h"]])}

    def op_getitem(self, req):
        key = self.unpickle(req["payload"])
        return {"ok": self.encode(self.handles[req["h"]][key])}

    def op_repr(self, req):
        return {"ok": repr(self.handles[req["h"]])[:2000]}

    # -- values ----------------------------------------------------------------------------
    def unpickle(self, text):
        handles = self.handles

        class Loader(pickle.Unpickler):
            def persistent_load(self, pid):
                return handles[pid[1]]

        return Loader(io.BytesIO(base64.b64decode(text))).load()

    def handle(self, obj):
        key = len(self.handles) + 1
        self.handles[key] = obj
        cls = type(obj)
        mro = [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__]
        return {"t": "handle", "h": key, "mro": mro, "callable": callable(obj)}

    def encode(self, obj, depth=0):
        import sys

        if depth > 20:
            raise ValueError("the value is nested too deeply to grade")
        if obj is None or type(obj) in (bool, int, float, str):
            return {"t": type(obj).__name__, "v": obj}
        if type(obj) is complex:
            return {"t": "complex", "v": [obj.real, obj.imag]}
        if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
            return {"t": type(obj).__name__, "v": [self.encode(v, depth + 1) for v in obj]}
        if type(obj) is dict or type(obj).__name__ == "OrderedDict" and type(obj).__module__ == "collections":
            return {"t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]}
        np = sys.modules.get("numpy")
        if np is not None and isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in "biufc":
            arr = np.ascontiguousarray(obj)
            return {"t": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape), "scalar": obj.ndim == 0
                    and isinstance(obj, np.generic), "b64": self.b64(arr.tobytes())}
        torch = sys.modules.get("torch")
        if torch is not None:
            found = self.encode_torch(torch, obj, depth)
            if found is not None:
                return found
        return self.handle(obj)

    def encode_torch(self, torch, obj, depth):
        if isinstance(obj, torch.Tensor) and type(obj) in (torch.Tensor, torch.nn.Parameter):
            t = obj.detach().to("cpu").contiguous()
            raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
            return {"t": "tensor", "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                    "grad": bool(obj.requires_grad), "device": str(obj.device), "b64": self.b64(raw)}
        if isinstance(obj, torch.Size):
            return {"t": "size", "v": list(obj)}
        if isinstance(obj, torch.dtype):
            return {"t": "dtype", "v": str(obj).replace("torch.", "")}
        if isinstance(obj, torch.device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, torch.nn.Module) and self.plain_module(torch, obj):
            buf = io.BytesIO()
            torch.save(obj, buf)
            return {"t": "module", "b64": self.b64(buf.getvalue()), "handle": self.handle(obj)}
        return None

    @staticmethod
    def plain_module(torch, module):
        """Made only of torch.nn's own layers, without hooks: the judge can rebuild it from data."""
        for m in module.modules():
            if not type(m).__module__.startswith("torch.nn.modules."):
                return False
            if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks:
                return False
        return True

    def b64(self, raw):
        if len(raw) > MAX_BYTES:
            raise ValueError(f"a value of {len(raw)} bytes is too large to grade")
        return base64.b64encode(raw).decode("ascii")

    def state(self, obj):
        """The new state of an argument the student's function may have changed (None: not tracked)."""
        import sys

        torch = sys.modules.get("torch")
        np = sys.modules.get("numpy")
        if torch is not None:
            if isinstance(obj, torch.nn.Module):
                grads = {n: p.grad for n, p in obj.named_parameters()}
                return {"module": self.encode(obj.state_dict()), "training": [m.training for m in obj.modules()],
                        "grads": self.encode(grads)}
            if isinstance(obj, torch.optim.Optimizer):
                return {"optimizer": self.encode(obj.state_dict())}
            if isinstance(obj, torch.Tensor):
                return {"tensor": self.encode(obj)}
        if np is not None and isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc":
            return {"array": self.encode(obj)}
        return None


def install(ns):
    """Bind a fresh agent to ``__cnn_judge__`` in the student's namespace ``ns``."""
    ns["__cnn_judge__"] = Agent(ns)
