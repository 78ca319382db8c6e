# Emulates torch.save's pickling of a state_dict with CPython's C pickler and stand-in torch globals
# (no PyTorch needed). Prints the hex of data.pkl; torch-bin.test.ts holds that output as its golden.
import sys, types, pickle, io
from collections import OrderedDict
torch = types.ModuleType('torch'); _utils = types.ModuleType('torch._utils')
def _rebuild_tensor_v2(*a): pass
def _rebuild_parameter(*a): pass
_rebuild_tensor_v2.__module__ = 'torch._utils'; _rebuild_parameter.__module__ = 'torch._utils'
_utils._rebuild_tensor_v2 = _rebuild_tensor_v2; _utils._rebuild_parameter = _rebuild_parameter
class FloatStorage: pass
class LongStorage: pass
for c in (FloatStorage, LongStorage): c.__module__ = 'torch'; setattr(torch, c.__name__, c)
torch._utils = _utils; sys.modules['torch'] = torch; sys.modules['torch._utils'] = _utils
class Storage:
    def __init__(self, typ, numel): self.typ, self.numel = typ, numel
class Tensor:
    def __init__(self, st, off, size, stride): self.st, self.off, self.size, self.stride = st, off, list(size), list(stride)
    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (self.st, self.off, tuple(self.size), tuple(self.stride), False, OrderedDict()))
class Param:
    def __init__(self, t): self.t = t
    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.t, True, OrderedDict()))
id_map = {}
class P(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            key = id_map.setdefault(id(obj), str(len(id_map)))
            return ('storage', obj.typ, key, 'cpu', obj.numel)
        return None
s0 = Storage(FloatStorage, 6); s1 = Storage(LongStorage, 300); s2 = Storage(FloatStorage, 70000)
sd = OrderedDict()
pre = 'bert.'
sd[pre + 'a.weight'] = Tensor(s0, 0, (2, 3), (3, 1))
sd[pre + 'a.t'] = Tensor(s0, 0, (3, 2), (1, 3))
sd[pre + 'ids'] = Tensor(s1, 4, (1, 296), (296, 1))
sd[pre + 'big'] = Param(Tensor(s2, 1, (), ()))
sd._metadata = OrderedDict()
for m in ['', 'bert', 'bert.embeddings']:
    sd._metadata[m[:]] = dict(version=1)
buf = io.BytesIO(); P(buf, protocol=2).dump(sd)
print(buf.getvalue().hex())
