"""Static (non-executing) pickle analysis used by the fixture generators.

Pure Python standard library. Nothing here ever unpickles anything: streams are walked with
``pickletools.genops`` and a small symbolic stack machine that only records which globals are
imported, what is called, and where the stream breaks. It is used to

* check that every crafted malicious fixture resolves to the imports the manifest promises, and
* collect the globals that the benign (real-producer) fixtures import (``benign/GLOBALS.txt``).

It understands the container formats the fixtures use: raw pickle streams (several streams in a
row, legacy PyTorch files), zip archives (every member that starts with a pickle PROTO opcode or
ends in ``.pkl``, nested zips), ``.npy`` files with an object dtype, and joblib streams (the raw
array bytes that joblib writes after each ``NumpyArrayWrapper`` are stepped over, zlib
compressed joblib files are inflated first).
"""

import io
import pickletools
import struct
import bz2
import gzip
import lzma
import zlib

MARK = object()


class Val:
    """A symbolic value on the unpickler's stack."""

    __slots__ = ("kind", "v")

    def __init__(self, kind, v=None):
        self.kind = kind  # 'str','bytes','int','float','none','bool','tuple','list','dict','set',
        # 'global','call','unknown','persid','ext'
        self.v = v

    def __repr__(self):
        return "Val(%s,%r)" % (self.kind, self.v)


def _s(x):
    return x.v if isinstance(x, Val) and x.kind == "str" else None


class StreamResult:
    def __init__(self, start):
        self.start = start
        self.end = None
        self.globals = []  # (module, name, opcode)
        self.unresolved = []  # descriptions of STACK_GLOBAL with non-string operands
        self.calls = []  # (opcode, callable description)
        self.opaque_calls = []
        self.persids = []
        self.ext_codes = []
        self.error = None  # string if the stream is malformed / truncated
        self.joblib_arrays = 0
        self.joblib_unknown = []


def _itemsize(descr):
    """Item size of a NumPy dtype string such as '<f8', '|u1', '<U5'; None if unknown."""
    if not isinstance(descr, str) or not descr:
        return None
    d = descr
    if d[0] in "<>|=":
        d = d[1:]
    if "[" in d:  # datetime units, '<M8[ns]'
        d = d.split("[", 1)[0]
    kind = d.rstrip("0123456789")
    digits = d[len(kind):]
    named = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8,
             "Q": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "p": 8, "P": 8}
    if not digits:
        return named.get(kind)
    n = int(digits)
    if kind in ("b", "i", "u", "f", "c", "S", "a", "V", "M", "m"):
        return n
    if kind == "U":
        return 4 * n
    return None


def _container_items(x):
    if isinstance(x, Val) and x.kind in ("tuple", "list"):
        return x.v
    return None


def analyse_stream(buf, pos, depth=0):
    """Walk one pickle stream of ``buf`` starting at ``pos``. Returns a StreamResult."""
    res = StreamResult(pos)
    f = io.BytesIO(buf)
    f.seek(pos)
    stack = []
    metastack = []
    memo = {}

    def pop():
        if not stack:
            raise ValueError("stack underflow")
        return stack.pop()

    def pop_mark():
        nonlocal stack
        items = stack
        if not metastack:
            raise ValueError("MARK missing")
        stack = metastack.pop()
        return items

    def desc(c):
        if isinstance(c, Val):
            if c.kind == "global":
                return "%s.%s" % c.v
            return "<%s>" % c.kind
        return "<?>"

    def call(opname, callable_, args):
        if isinstance(callable_, Val) and callable_.kind == "global":
            res.calls.append((opname, "%s.%s" % callable_.v))
        else:
            res.opaque_calls.append((opname, desc(callable_)))
        return Val("call", (callable_, args))

    gen = pickletools.genops(f)
    try:
        while True:
            try:
                op, arg, p = next(gen)
            except StopIteration:
                break
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                res.end = f.tell()
                return res
            if name == "MARK":
                metastack.append(stack)
                stack = []
            elif name in ("STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                          "SHORT_BINUNICODE", "BINUNICODE8"):
                stack.append(Val("str", arg if isinstance(arg, str) else arg.decode("latin-1")))
            elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                stack.append(Val("bytes", arg))
            elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"):
                if isinstance(arg, bool):
                    stack.append(Val("bool", arg))
                else:
                    stack.append(Val("int", arg))
            elif name in ("FLOAT", "BINFLOAT"):
                stack.append(Val("float", arg))
            elif name == "NONE":
                stack.append(Val("none"))
            elif name in ("NEWTRUE", "NEWFALSE"):
                stack.append(Val("bool", name == "NEWTRUE"))
            elif name == "EMPTY_TUPLE":
                stack.append(Val("tuple", []))
            elif name == "TUPLE":
                items = pop_mark()
                stack.append(Val("tuple", list(items)))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise ValueError("stack underflow")
                items = stack[-n:]
                del stack[-n:]
                stack.append(Val("tuple", items))
            elif name == "EMPTY_LIST":
                stack.append(Val("list", []))
            elif name == "LIST":
                items = pop_mark()
                stack.append(Val("list", list(items)))
            elif name == "APPEND":
                v = pop()
                lst = stack[-1]
                if isinstance(lst, Val) and lst.kind == "list":
                    lst.v.append(v)
            elif name == "APPENDS":
                items = pop_mark()
                lst = stack[-1]
                if isinstance(lst, Val) and lst.kind == "list":
                    lst.v.extend(items)
            elif name == "EMPTY_DICT":
                stack.append(Val("dict", {}))
            elif name == "DICT":
                items = pop_mark()
                d = {}
                for i in range(0, len(items) - 1, 2):
                    k = _s(items[i])
                    if k is not None:
                        d[k] = items[i + 1]
                stack.append(Val("dict", d))
            elif name == "SETITEM":
                v = pop()
                k = pop()
                d = stack[-1]
                if isinstance(d, Val) and d.kind == "dict" and _s(k) is not None:
                    d.v[_s(k)] = v
            elif name == "SETITEMS":
                items = pop_mark()
                d = stack[-1]
                if isinstance(d, Val) and d.kind == "dict":
                    for i in range(0, len(items) - 1, 2):
                        if _s(items[i]) is not None:
                            d.v[_s(items[i])] = items[i + 1]
            elif name == "EMPTY_SET":
                stack.append(Val("set", []))
            elif name == "ADDITEMS":
                pop_mark()
            elif name == "FROZENSET":
                items = pop_mark()
                stack.append(Val("set", list(items)))
            elif name == "POP":
                if stack:
                    stack.pop()
                elif metastack:
                    pop_mark()
                else:
                    raise ValueError("stack underflow")
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    res.error = res.error or ("memo index %r never stored (byte %d)" % (arg, p))
                    stack.append(Val("unknown", "missing-memo"))
                else:
                    stack.append(memo[arg])
            elif name == "GLOBAL":
                mod, _, nm = arg.partition(" ")
                res.globals.append((mod, nm, "GLOBAL"))
                stack.append(Val("global", (mod, nm)))
            elif name == "STACK_GLOBAL":
                nm = pop()
                mod = pop()
                if _s(mod) is not None and _s(nm) is not None:
                    res.globals.append((_s(mod), _s(nm), "STACK_GLOBAL"))
                    stack.append(Val("global", (_s(mod), _s(nm))))
                else:
                    res.unresolved.append("STACK_GLOBAL(%s, %s) at byte %d" % (desc(mod), desc(nm), p))
                    stack.append(Val("unknown", "unresolved-global"))
            elif name == "INST":
                mod, _, nm = arg.partition(" ")
                res.globals.append((mod, nm, "INST"))
                args = pop_mark()
                stack.append(call("INST", Val("global", (mod, nm)), args))
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    raise ValueError("OBJ without class")
                stack.append(call("OBJ", items[0], items[1:]))
            elif name == "REDUCE":
                args = pop()
                c = pop()
                stack.append(call("REDUCE", c, args))
            elif name == "NEWOBJ":
                args = pop()
                c = pop()
                stack.append(call("NEWOBJ", c, args))
            elif name == "NEWOBJ_EX":
                kwargs = pop()
                args = pop()
                c = pop()
                stack.append(call("NEWOBJ_EX", c, args))
            elif name == "BUILD":
                state = pop()
                obj = stack[-1]
                _maybe_joblib_array(obj, state, f, buf, res, depth)
            elif name == "PERSID":
                res.persids.append(("PERSID", arg))
                stack.append(Val("persid", arg))
            elif name == "BINPERSID":
                pid = pop()
                res.persids.append(("BINPERSID", _plain(pid)))
                stack.append(Val("persid", pid))
            elif name in ("EXT1", "EXT2", "EXT4"):
                res.ext_codes.append((name, arg))
                stack.append(Val("ext", arg))
            elif name == "NEXT_BUFFER":
                stack.append(Val("unknown", "buffer"))
            elif name == "READONLY_BUFFER":
                pass
            else:
                raise ValueError("unhandled opcode %s" % name)
    except ValueError as e:
        res.error = res.error or ("%s (byte %d)" % (e, f.tell()))
    except Exception as e:  # noqa: BLE001 - genops raises several types on bad input
        res.error = res.error or ("%s: %s (byte %d)" % (type(e).__name__, e, f.tell()))
    if res.end is None and res.error is None:
        res.error = "stream ended without STOP"
    res.end = res.end or f.tell()
    return res


def _plain(v):
    if isinstance(v, Val):
        if v.kind in ("tuple", "list"):
            return tuple(_plain(x) for x in v.v)
        if v.kind == "global":
            return "%s.%s" % v.v
        if v.kind in ("str", "int", "bytes", "bool", "float"):
            return v.v
        return "<%s>" % v.kind
    return "<?>"


def _is_global(v, mod, name):
    return isinstance(v, Val) and v.kind == "global" and v.v == (mod, name)


def _maybe_joblib_array(obj, state, f, buf, res, depth):
    """After BUILD of joblib's NumpyArrayWrapper, step over the raw array bytes that follow."""
    if not (isinstance(obj, Val) and obj.kind == "call"):
        return
    cls = obj.v[0]
    if not (isinstance(cls, Val) and cls.kind == "global" and cls.v[1] == "NumpyArrayWrapper"):
        return
    if not (isinstance(state, Val) and state.kind == "dict"):
        res.joblib_unknown.append("wrapper state is not a dict")
        raise ValueError("joblib array of unknown size")
    st = state.v
    shape = _container_items(st.get("shape"))
    dtype = st.get("dtype")
    descr = None
    if isinstance(dtype, Val) and dtype.kind == "call" and _is_global(dtype.v[0], "numpy", "dtype"):
        a = _container_items(dtype.v[1])
        if a:
            descr = _s(a[0])
    if shape is None or any(not (isinstance(x, Val) and x.kind == "int") for x in shape) or descr is None:
        res.joblib_unknown.append("shape/dtype not static")
        raise ValueError("joblib array of unknown size")
    res.joblib_arrays += 1
    n = 1
    for x in shape:
        n *= x.v
    if descr.lstrip("<>|=").rstrip("0123456789") == "O":
        # object arrays are written as a nested pickle stream
        sub = analyse_stream(buf, f.tell(), depth + 1)
        _merge(res, sub)
        if sub.error:
            raise ValueError("nested object-array pickle: " + sub.error)
        f.seek(sub.end)
        return
    size = _itemsize(descr)
    if size is None:
        res.joblib_unknown.append("unknown item size for dtype %r" % descr)
        raise ValueError("joblib array with unknown item size")
    align = st.get("numpy_array_alignment_bytes")
    if isinstance(align, Val) and align.kind == "int":
        padlen = f.read(1)
        if not padlen:
            raise ValueError("joblib padding byte missing")
        f.seek(padlen[0], 1)
    f.seek(n * size, 1)
    if f.tell() > len(buf):
        raise ValueError("joblib array runs past end of file")


def _merge(dst, src):
    dst.globals += src.globals
    dst.unresolved += src.unresolved
    dst.calls += src.calls
    dst.opaque_calls += src.opaque_calls
    dst.persids += src.persids
    dst.ext_codes += src.ext_codes
    dst.joblib_arrays += src.joblib_arrays
    dst.joblib_unknown += src.joblib_unknown


def analyse_pickle_bytes(buf):
    """All streams of a raw pickle file. Returns (list of StreamResult, trailing_bytes_count)."""
    out = []
    pos = 0
    while pos < len(buf):
        r = analyse_stream(buf, pos)
        out.append(r)
        if r.error:
            return out, 0
        pos = r.end
        # another stream follows only if the next byte is a plausible first opcode
        if pos < len(buf) and buf[pos:pos + 1] not in (b"\x80",):
            return out, len(buf) - pos
    return out, 0


def looks_like_pickle(b):
    return len(b) >= 2 and b[0] == 0x80 and 0 <= b[1] <= 5


def raw_zip_members(buf, limit=512 * 1024 * 1024):
    """(central-directory name, bytes or None) for every member, read by offsets like a lenient
    loader would: CRCs, the encryption flag and local-header names are ignored. Stored and
    deflated members only (None for other methods)."""
    eocd = buf.rfind(b"PK\x05\x06")
    if eocd < 0:
        return
    _, _, _, _, total, cd_size, cd_off, _ = struct.unpack("<IHHHHIIH", buf[eocd:eocd + 22])
    if cd_off == 0xFFFFFFFF or total == 0xFFFF:
        loc = buf.rfind(b"PK\x06\x07", 0, eocd)
        if loc >= 0:
            z64 = struct.unpack("<Q", buf[loc + 8:loc + 16])[0]
            total, _, cd_size, cd_off = struct.unpack("<QQQQ", buf[z64 + 24:z64 + 56])
    p = cd_off
    for _ in range(total):
        if buf[p:p + 4] != b"PK\x01\x02":
            return
        (method, csize, usize, nlen, elen, clen, off) = (
            struct.unpack("<H", buf[p + 10:p + 12])[0], *struct.unpack("<II", buf[p + 20:p + 28]),
            *struct.unpack("<HHH", buf[p + 28:p + 34]), struct.unpack("<I", buf[p + 42:p + 46])[0])
        mname = buf[p + 46:p + 46 + nlen].decode("utf-8", "replace")
        extra = buf[p + 46 + nlen:p + 46 + nlen + elen]
        q = 0
        while q + 4 <= len(extra):
            hid, hlen = struct.unpack("<HH", extra[q:q + 4])
            if hid == 1:
                vals = extra[q + 4:q + 4 + hlen]
                k = 0
                if usize == 0xFFFFFFFF:
                    usize = struct.unpack("<Q", vals[k:k + 8])[0]
                    k += 8
                if csize == 0xFFFFFFFF:
                    csize = struct.unpack("<Q", vals[k:k + 8])[0]
                    k += 8
                if off == 0xFFFFFFFF:
                    off = struct.unpack("<Q", vals[k:k + 8])[0]
            q += 4 + hlen
        p += 46 + nlen + elen + clen
        lnlen, lelen = struct.unpack("<HH", buf[off + 26:off + 30])
        start = off + 30 + lnlen + lelen
        comp = buf[start:start + csize]
        if method == 0:
            yield mname, comp
        elif method == 8:
            d = zlib.decompressobj(-15)
            yield mname, d.decompress(comp, limit)
        else:
            yield mname, None


def npy_payload(buf):
    """(header_dict_text, payload_offset) of an .npy file, or None."""
    if buf[:6] != b"\x93NUMPY":
        return None
    major = buf[6]
    if major == 1:
        hlen = struct.unpack("<H", buf[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", buf[8:12])[0]
        start = 12
    if start + hlen > len(buf):
        return None
    return buf[start:start + hlen].decode("latin-1"), start + hlen


def analyse_file_bytes(buf, name="", depth=0):
    """Yield (member_path, StreamResult) for every pickle stream reachable in ``buf``."""
    if depth > 16:
        return
    if buf[:4] == b"PK\x03\x04" or (buf[:4] == b"PK\x05\x06"):
        for mname, data in raw_zip_members(buf):
            member = name + "!" + mname
            if data is None:
                continue
            if data[:4] == b"PK\x03\x04" or mname.endswith(".pkl") or looks_like_pickle(data) \
                    or data[:6] == b"\x93NUMPY":
                yield from analyse_file_bytes(data, member, depth + 1)
        return
    if buf[:6] == b"\x93NUMPY":
        hp = npy_payload(buf)
        if hp and "'|O'" in hp[0]:
            for r in analyse_pickle_bytes(buf[hp[1]:])[0]:
                yield name, r
        return
    if buf[:1] == b"\x78":  # zlib stream (joblib compress=zlib)
        try:
            buf = zlib.decompress(buf)
        except zlib.error:
            return
    elif buf[:2] == b"\x1f\x8b":  # joblib compress='gzip'
        buf = gzip.decompress(buf)
    elif buf[:3] == b"BZh":  # joblib compress='bz2'
        buf = bz2.decompress(buf)
    elif buf[:6] == b"\xfd7zXZ\x00" or buf[:3] == b"\x5d\x00\x00":  # joblib 'xz' / 'lzma'
        buf = lzma.decompress(buf)
    elif buf[:4] == b"\x04\x22\x4d\x18":  # joblib compress='lz4'
        buf = lz4_frame_decode(buf)
    if buf[:2] == b"ZF":  # very old joblib zfile: 'ZF' + 16 hex chars length + zlib data
        try:
            buf = zlib.decompress(buf[18:])
        except zlib.error:
            return
    for r in analyse_pickle_bytes(buf)[0]:
        yield name, r


def lz4_frame_decode(buf):
    """Decode an LZ4 frame with the stdlib only: the `lz4` module when present, else frames
    whose blocks are stored uncompressed (what gen_malicious.py writes)."""
    try:
        import lz4.frame  # noqa: PLC0415
        return lz4.frame.decompress(buf)
    except ImportError:
        pass
    flg = buf[4]
    pos = 7 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
    out = b""
    while pos + 4 <= len(buf):
        (size,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        if size == 0:
            break
        if not size & 0x80000000:
            raise ValueError("compressed LZ4 blocks need the lz4 module")
        size &= 0x7FFFFFFF
        out += buf[pos:pos + size]
        pos += size + (4 if flg & 0x10 else 0)
    return out


def analyse_path(path):
    with open(path, "rb") as fh:
        return list(analyse_file_bytes(fh.read(), ""))
