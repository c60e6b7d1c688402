#!/usr/bin/env python3
"""Write hostile stress inputs that are too big to commit, for benches/rss.sh.

    python3 benches/gen_hostile.py OUTDIR

Stdlib only, deterministic, and nothing here is ever unpickled or loaded: the files are
assembled from raw opcodes and headers. Each file attacks one bound of the scanner (opcode
count, memo size, stack depth, nesting, header lengths, member counts, decompression). The
sizes are chosen to pass the scanner's default limits where that is the point (the scanner has
to hold them) and to overrun them where the limit is the point (it must stop and say so).
Total on disk: about 500 MB; about 20 s on one core.
"""

import os
import struct
import sys
import zipfile
import zlib

MiB = 1 << 20


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# ---- pickle -------------------------------------------------------------------------------
PROTO4 = b"\x80\x04"


def pickles(out):
    # ~5 million opcodes: NONE, POP pairs (10 MB), then a dangerous import at the very end,
    # so the scanner has to walk all of them to reach the verdict.
    body = b"N0" * 2_500_000
    tail = b"cos\nsystem\n(S'id'\ntR."
    write(out, "pickle_5m_opcodes.pkl", PROTO4 + body + tail)

    # 126 million one-byte opcodes (NONE, POP pairs; 120 MiB): past max_opcodes (100 M).
    with open(os.path.join(out, "pickle_120m_opcodes.pkl"), "wb") as f:
        f.write(PROTO4)
        chunk = b"N0" * (MiB // 2)
        for _ in range(120):  # 120 x 1 MiB = 126 M opcodes
            f.write(chunk)
        f.write(b".")

    # A huge memo, one object: 3 million LONG_BINPUT of the same list (past max_memo, 1 M).
    body = bytearray(PROTO4 + b"]")
    for i in range(3_000_000):
        body += b"r" + struct.pack("<I", i)
    write(out, "pickle_memo_3m_put.pkl", bytes(body) + b".")

    # A huge memo of distinct objects, just under max_memo: 990,000 x (EMPTY_LIST MEMOIZE POP).
    write(out, "pickle_memo_990k_distinct.pkl", PROTO4 + b"]\x940" * 990_000 + b"N.")

    # Deep nesting through MARK/LIST: 900,000 MARKs then 900,000 LISTs build [[[...]]]
    # 900,000 deep (under max_stack, 1 M, so the machine must build it, and drop it).
    n = 900_000
    write(out, "pickle_nested_mark_list_900k.pkl", PROTO4 + b"(" * n + b"l" * n + b".")

    # Deep nesting with one opcode per level: EMPTY_TUPLE then 5 million TUPLE1.
    write(out, "pickle_nested_tuple1_5m.pkl", PROTO4 + b")" + b"\x85" * 5_000_000 + b".")

    # Deep nesting through APPEND into a fresh list each level: ] ] a ] a ... 2 M levels.
    write(out, "pickle_nested_append_2m.pkl", PROTO4 + b"]" + b"]" * 2_000_000 + b"a" * 2_000_000 + b".")

    # A list appended to itself 3 million times (a self-referential cycle that grows).
    write(out, "pickle_self_append_3m.pkl", PROTO4 + b"]\x94" + b"h\x00a" * 3_000_000 + b".")

    # 2.5 million calls: REDUCE of one memoized global, each result dropped.
    write(out, "pickle_reduce_2500k_calls.pkl",
          PROTO4 + b"cbuiltins\nlen\n\x94" + b"h\x00)R0" * 2_500_000 + b"N.")

    # 1 million GLOBAL imports of distinct names (each result dropped).
    body = bytearray(PROTO4)
    for i in range(1_000_000):
        body += b"cmod%d\nname%d\n0" % (i, i)
    write(out, "pickle_1m_distinct_globals.pkl", bytes(body) + b"N.")

    # Wide stack: 5 million pushes with no MARK (past max_stack, 1 M).
    write(out, "pickle_stack_5m.pkl", PROTO4 + b"N" * 5_000_000 + b".")

    # One BINBYTES8 / BINUNICODE8 claiming 2^62 bytes, and a 64 MiB real string.
    write(out, "pickle_binbytes8_2_62.pkl", PROTO4 + b"\x8e" + struct.pack("<Q", 1 << 62) + b"x" * 64)
    write(out, "pickle_binunicode8_64mib.pkl",
          PROTO4 + b"\x8d" + struct.pack("<Q", 64 * MiB) + b"A" * (64 * MiB) + b"0N.")

    # 1 million concatenated pickle streams (scanning continues after STOP).
    write(out, "pickle_1m_streams.pkl", b"\x80\x02N." * 1_000_000)


# ---- safetensors --------------------------------------------------------------------------
def safetensors(out):
    # Header length 2^64 - 1.
    write(out, "st_header_length_2_64_minus_1.safetensors",
          struct.pack("<Q", (1 << 64) - 1) + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    # Header length 2^40 with a real header start: must not allocate 1 TiB.
    write(out, "st_header_length_2_40.safetensors",
          struct.pack("<Q", 1 << 40) + b'{"__metadata__":{"a":"b"}}' + b" " * 1000)
    # A real 90 MiB header: 400,000 tensors (past max_tensors, 200,000).
    parts = []
    off = 0
    for i in range(400_000):
        parts.append('"t%07d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}' % (i, off, off + 4))
        off += 4
    header = ("{" + ",".join(parts) + "}").encode()
    with open(os.path.join(out, "st_header_400k_tensors.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.write(b"\0" * off)
    # A header of one 32 MiB metadata string (past max_metadata, 1 MiB).
    header = b'{"__metadata__":{"x":"' + b"A" * (32 * MiB) + b'"}}'
    write(out, "st_metadata_32mib.safetensors", struct.pack("<Q", len(header)) + header)
    # A shape with 100,000 dimensions (past max_rank, 64) whose product overflows u64.
    header = b'{"t":{"dtype":"F32","shape":[' + b",".join([b"65535"] * 100_000) + b'],"data_offsets":[0,4]}}'
    write(out, "st_rank_100k.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 4)
    # JSON nested 1,000,000 deep inside the metadata.
    header = b'{"__metadata__":{"x":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}}"
    write(out, "st_json_nested_1m.safetensors", struct.pack("<Q", len(header)) + header)


# ---- zip ----------------------------------------------------------------------------------
def local_header(name, method, crc, csize, usize, zip64=False):
    extra = b""
    if zip64:
        extra = struct.pack("<HHQQ", 1, 16, usize, csize)
        csize = usize = 0xFFFFFFFF
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0, crc,
                       csize, usize, len(name), len(extra)) + name + extra


def central_header(name, method, crc, csize, usize, offset, zip64=False):
    extra = b""
    if zip64:
        extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
        csize = usize = offset = 0xFFFFFFFF
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20, 45 if zip64 else 20,
                       0, method, 0, 0, crc, csize, usize, len(name), len(extra), 0, 0, 0, 0,
                       offset) + name + extra


def end_records(n, cd_off, cd_size):
    zip64 = n >= 0xFFFF or cd_off >= 0xFFFFFFFF
    out = b""
    if zip64:
        eocd64_off = cd_off + cd_size
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, eocd64_off, 1)
        return out + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return out + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_off, 0)


def deflate_stream(f, total, chunk_data):
    """Deflate `total` bytes made of repeats of chunk_data into f; return (crc, csize)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    csize = 0
    left = total
    while left:
        block = chunk_data if left >= len(chunk_data) else chunk_data[:left]
        crc = zlib.crc32(block, crc)
        c = comp.compress(block)
        f.write(c)
        csize += len(c)
        left -= len(block)
    c = comp.flush()
    f.write(c)
    return crc, csize + len(c)


def zips(out):
    # 100,000 members, each a tiny pickle (data/N.pkl), written with zipfile (stored).
    with zipfile.ZipFile(os.path.join(out, "zip_100k_members.zip"), "w", zipfile.ZIP_STORED) as z:
        for i in range(100_000):
            z.writestr(zipfile.ZipInfo("m/data/%d.pkl" % i), b"\x80\x02N.")
    # 300,000 members (past max_members, 100,000, and the 200,000 total-member budget).
    with zipfile.ZipFile(os.path.join(out, "zip_300k_members.zip"), "w", zipfile.ZIP_STORED) as z:
        for i in range(300_000):
            z.writestr(zipfile.ZipInfo("%d" % i), b"")

    # 1 GiB of zeros, deflated and streamed (zip64 sizes), as data.pkl of a torch-like zip.
    zeros = b"\0" * MiB
    path = os.path.join(out, "zip_bomb_1gib_zeros.zip")
    with open(path, "wb") as f:
        name = b"archive/data.pkl"
        f.write(local_header(name, 8, 0, 0, 0, zip64=True))
        crc, csize = deflate_stream(f, 1 << 30, zeros)
        cd_off = f.tell()
        cd = central_header(name, 8, crc, csize, 1 << 30, 0, zip64=True)
        f.write(cd)
        f.write(end_records(1, cd_off, len(cd)))
        # fix the local header's crc (sizes are in its zip64 extra)
        f.seek(14)
        f.write(struct.pack("<I", crc))
        f.seek(30 + len(name) + 4)
        f.write(struct.pack("<QQ", 1 << 30, csize))

    # 1 GiB of pickle opcodes (NONE POP ...), deflated: inflating it and walking it are both
    # bounded (decompression ratio and max_opcodes).
    path = os.path.join(out, "zip_bomb_1gib_pickle_ops.zip")
    with open(path, "wb") as f:
        name = b"archive/data.pkl"
        f.write(local_header(name, 8, 0, 0, 0, zip64=True))
        body = PROTO4 + b"N0" * (MiB // 2 - 1)
        crc, csize = deflate_stream(f, 1 << 30, body)
        cd_off = f.tell()
        cd = central_header(name, 8, crc, csize, 1 << 30, 0, zip64=True)
        f.write(cd)
        f.write(end_records(1, cd_off, len(cd)))
        f.seek(14)
        f.write(struct.pack("<I", crc))
        f.seek(30 + len(name) + 4)
        f.write(struct.pack("<QQ", 1 << 30, csize))

    # Overlapping members: 2,000 central-directory entries that all point at one local
    # member of 100 MiB of deflated zeros: 200 GB if every entry is inflated.
    path = os.path.join(out, "zip_overlap_2000x100mib.zip")
    with open(path, "wb") as f:
        name = b"data.pkl"
        lh_pos = f.tell()
        f.write(local_header(name, 8, 0, 0, 0))
        crc, csize = deflate_stream(f, 100 * MiB, zeros)
        cd_off = f.tell()
        cd = b"".join(central_header(name if i == 0 else b"data%d.pkl" % i, 8, crc, csize, 100 * MiB, lh_pos)
                      for i in range(2000))
        f.write(cd)
        f.write(end_records(2000, cd_off, len(cd)))
        f.seek(lh_pos + 14)
        f.write(struct.pack("<III", crc, csize, 100 * MiB))

    # A zip nested 64 deep (each level a stored zip holding the previous one).
    inner = b"\x80\x02cos\nsystem\nq\x00."
    name = "data.pkl"
    for depth in range(64):
        import io
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr(name, inner)
        inner = buf.getvalue()
        name = "level%d.zip" % depth
    write(out, "zip_nested_64_deep.zip", inner)


# ---- gguf ---------------------------------------------------------------------------------
def gguf_str(s):
    return struct.pack("<Q", len(s)) + s


def gguf(out):
    hdr = b"GGUF" + struct.pack("<I", 3)
    # An array claiming 2^60 elements (uint8), and one claiming 2^60 strings.
    write(out, "gguf_array_count_2_60.gguf",
          hdr + struct.pack("<QQ", 0, 1) + gguf_str(b"tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 0, 1 << 60) + b"\0" * 4096)
    write(out, "gguf_string_array_count_2_60.gguf",
          hdr + struct.pack("<QQ", 0, 1) + gguf_str(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1 << 60)
          + (struct.pack("<Q", 1) + b"a") * 1000)
    # A real array of 4 million one-byte strings (a big but legitimate-looking vocabulary).
    write(out, "gguf_vocab_4m_strings.gguf",
          hdr + struct.pack("<QQ", 0, 1) + gguf_str(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 4_000_000)
          + (struct.pack("<Q", 1) + b"a") * 4_000_000)
    # 2^60 tensors and 2^60 key/value pairs declared.
    write(out, "gguf_kv_count_2_60.gguf", hdr + struct.pack("<QQ", 0, 1 << 60) + (gguf_str(b"k") + struct.pack("<II", 4, 0)) * 1000)
    write(out, "gguf_tensor_count_2_60.gguf", hdr + struct.pack("<QQ", 1 << 60, 0) + (gguf_str(b"t") + struct.pack("<IQ", 1, 1) + struct.pack("<IQ", 0, 0)) * 1000)
    # A 48 MiB chat template (past max_template, 4 MiB) full of Jinja tags.
    tmpl = b"{% for m in messages %}{{ m['content'] }}{% endfor %}" * (48 * MiB // 54)
    write(out, "gguf_template_48mib.gguf",
          hdr + struct.pack("<QQ", 0, 1) + gguf_str(b"tokenizer.chat_template") + struct.pack("<I", 8) + gguf_str(tmpl))
    # Arrays of arrays nested 1,000,000 deep (each declares 1 element).
    write(out, "gguf_nested_arrays_1m.gguf",
          hdr + struct.pack("<QQ", 0, 1) + gguf_str(b"x") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 1_000_000
          + struct.pack("<IQ", 0, 1) + b"\0")


# ---- numpy --------------------------------------------------------------------------------
def numpy(out):
    # A .npy whose header length field is 4 GiB - 1 (format 2.0).
    write(out, "npy_header_len_4gib.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{" + b" " * 1000)
    # A 32 MiB header dict.
    d = b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"1, " * (11 * MiB) + b"), }"
    d += b" " * (-(len(d) + 13) % 64) + b"\n"
    write(out, "npy_header_32mib.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(d)) + d)
    # An object array (pickle payload) of 5 million NONE/POP pairs.
    d = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    d += b" " * (-(len(d) + 11) % 64) + b"\n"
    write(out, "npy_object_5m_opcodes.npy",
          b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d + PROTO4 + b"N0" * 2_500_000 + b"]\x85.")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    only = set(sys.argv[2:])
    for fn in (pickles, safetensors, zips, gguf, numpy):
        if not only or fn.__name__ in only:
            fn(out)


if __name__ == "__main__":
    main()
