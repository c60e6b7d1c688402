#!/usr/bin/env python3
"""Write the ONNX fixtures of testdata/models/{benign,malicious}/onnx/ and
testdata/models/manifest.onnx.json.

How to run (nothing here is ever loaded with onnxruntime or executed):

    python3 -m venv /tmp/venv-onnx
    /tmp/venv-onnx/bin/pip install torch onnx==1.23.2 skl2onnx==1.20.0 scikit-learn onnxscript
    /tmp/venv-onnx/bin/python testdata/gen/gen_onnx.py

Versions used for the committed files: Python 3.11.7, torch 2.15.0, onnx 1.23.2
(protobuf 7.36.2), scikit-learn 1.9.1, skl2onnx 1.20.0, onnxscript 0.7.2. Output is
deterministic for these versions (fixed seeds, no timestamps in ONNX).

Benign fixtures come from the real producers:
  torch_mlp.onnx          torch.onnx.export (TorchScript exporter, dynamo=False), opset 17
  torch_cnn.onnx          the same, a small Conv/BatchNorm/Pool network
  torch_dynamo_mlp.onnx   torch.onnx.export(dynamo=True) (onnxscript), when it works here;
                          the per-node stack traces it records are dropped (checkout paths)
  helper_if_subgraph.onnx onnx.helper: an If with then/else subgraphs, each with a Constant
  skl_logreg.onnx         skl2onnx: a LogisticRegression pipeline (ai.onnx.ml domain)
  skl_forest.onnx         skl2onnx: a small RandomForestClassifier (TreeEnsembleClassifier)
  contrib_ops.onnx        onnx.helper: onnxruntime contrib ops (com.microsoft FusedMatMul/Gelu)
  local_function.onnx     onnx.helper: a model-local function in domain `custom.local` and a
                          node calling it (a function the model defines is not a custom op)
  external/model.onnx     onnx.save_model(save_as_external_data=True, location="weights.bin",
                          size_threshold=0), weights in external/weights.bin

Malicious and malformed fixtures are crafted with onnx.helper or raw bytes (written with
SerializeToString, never loaded):
  ext_traversal_passwd.onnx   initializer location `../../../../etc/passwd`
  ext_absolute_shadow.onnx    initializer location `/etc/shadow`
  ext_windows_paths.onnx      `C:\\Windows\\System32\\config\\SAM` and `\\\\evil.example\\share\\w.bin`
  ext_if_constant.onnx        a Constant node inside an If's then_branch, value stored
                              externally at `../../../.ssh/id_rsa`
  ext_sparse_url.onnx         a sparse initializer whose values sit at `file:///etc/passwd`
  ext_invalid_fields.onnx     EXTERNAL without a location; `length` of `-1`; key `__class__`
  ext_short_self.onnx         location is the model itself, with a length it does not have
  ext_missing_file.onnx       location `missing_weights.bin`, which is not there (low)
  custom_domain_top.onnx      a node in domain `com.evil.ops`
  custom_domain_loop_body.onnx  a `com.evil.ops` node inside a Loop body
  opset_unknown_domain.onnx   an opset import of `com.evil.ops` that no node uses (low)
  truncated.onnx              torch_mlp.onnx cut at 60% of its bytes
  length_2p63.onnx            ir_version, then the graph field with a length of 2^63
  wrong_wire_type.onnx        a node whose name field (3) is a varint
  deep_nesting.onnx           If subgraphs nested 40 deep (the scanner stops at 16)
  metadata_pickle.onnx        metadata_props `preprocessor`: a base64 protocol-2 pickle that
                              calls os.system (hand-written opcodes, never unpickled)

The symbolic-link escape (a relative location that is a link to a file outside the model's
directory) is built at test time in tests/onnx.rs, so the repository holds no link.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BENIGN = os.path.join(MODELS, "benign", "onnx")
MALICIOUS = os.path.join(MODELS, "malicious", "onnx")
MANIFEST = []


def rel(path):
    return os.path.relpath(path, MODELS).replace(os.sep, "/")


def record(path, kind, technique, expect=()):
    MANIFEST.append(
        {"file": rel(path), "kind": kind, "technique": technique, "expect": list(expect), "imports": []}
    )


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    assert os.path.getsize(path) < 200 * 1024, path


def save_raw(path, model):
    """Serialise without onnx.save's external-data handling: the bytes are what we built."""
    write(path, model.SerializeToString())


# ---- benign ----


def torch_models():
    import torch

    torch.manual_seed(0)

    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4), torch.nn.Softmax(dim=-1)
            )

        def forward(self, x):
            return self.net(x)

    class Cnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Conv2d(3, 8, 3, padding=1),
                torch.nn.BatchNorm2d(8),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(8, 8, 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.AdaptiveAvgPool2d(1),
                torch.nn.Flatten(),
                torch.nn.Linear(8, 10),
            )

        def forward(self, x):
            return self.net(x)

    out = os.path.join(BENIGN, "torch_mlp.onnx")
    os.makedirs(BENIGN, exist_ok=True)
    mlp = Mlp().eval()
    torch.onnx.export(mlp, (torch.randn(1, 16),), out, dynamo=False, opset_version=17)
    record(out, "benign", f"torch.onnx.export (torch {torch.__version__}, TorchScript exporter), Linear/ReLU MLP, opset 17")
    cnn = Cnn().eval()
    out = os.path.join(BENIGN, "torch_cnn.onnx")
    torch.onnx.export(cnn, (torch.randn(1, 3, 16, 16),), out, dynamo=False, opset_version=17)
    record(out, "benign", f"torch.onnx.export (torch {torch.__version__}, TorchScript exporter), Conv/BatchNorm/Pool CNN, opset 17")
    out = os.path.join(BENIGN, "torch_dynamo_mlp.onnx")
    try:
        prog = torch.onnx.export(mlp, (torch.randn(1, 16),), dynamo=True, optimize=False)
        prog.save(out)
        # The exporter records each node's Python stack trace (absolute paths, line numbers of
        # this script) in node metadata: drop those so the file does not depend on the checkout.
        model = onnx.load(out)
        for node in model.graph.node:
            keep = [p for p in node.metadata_props if "stack_trace" not in p.key]
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
        onnx.save_model(model, out)
        record(out, "benign", f"torch.onnx.export(dynamo=True) (torch {torch.__version__}, onnxscript), Linear/ReLU MLP")
    except Exception as e:  # the dynamo exporter is optional here
        print(f"skipping {rel(out)}: {e}", file=sys.stderr)
        if os.path.exists(out):
            os.remove(out)


def helper_if_subgraph():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])

    def branch(name, value):
        c = helper.make_node(
            "Constant", [], [f"{name}_c"], name=f"{name}_const",
            value=numpy_helper.from_array(np.array(value, dtype=np.float32), f"{name}_value"),
        )
        add = helper.make_node("Add", ["x", f"{name}_c"], [f"{name}_out"], name=f"{name}_add")
        return helper.make_graph(
            [c, add], name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2])]
        )

    node = helper.make_node(
        "If", ["cond"], ["y"], name="if0", then_branch=branch("then", [1.0, 2.0]), else_branch=branch("else", [3.0, 4.0])
    )
    graph = helper.make_graph([node], "if_graph", [cond, x], [y])
    model = helper.make_model(graph, producer_name="onnx.helper", opset_imports=[helper.make_opsetid("", 19)])
    onnx.checker.check_model(model)
    out = os.path.join(BENIGN, "helper_if_subgraph.onnx")
    onnx.save_model(model, out)
    record(out, "benign", f"onnx.helper (onnx {onnx.__version__}): If with then/else subgraphs holding Constant nodes")


def sklearn_models():
    import skl2onnx
    import sklearn
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    X = rng.rand(60, 4).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(np.int64)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    out = os.path.join(BENIGN, "skl_logreg.onnx")
    write(out, to_onnx(pipe, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString())
    record(out, "benign", f"skl2onnx {skl2onnx.__version__} (scikit-learn {sklearn.__version__}): StandardScaler + LogisticRegression, ai.onnx.ml")
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    out = os.path.join(BENIGN, "skl_forest.onnx")
    write(out, to_onnx(forest, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString())
    record(out, "benign", f"skl2onnx {skl2onnx.__version__} (scikit-learn {sklearn.__version__}): RandomForestClassifier, TreeEnsembleClassifier")


def contrib_ops():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "w")
    mm = helper.make_node("FusedMatMul", ["a", "w"], ["m"], name="fused_matmul", domain="com.microsoft", alpha=1.0)
    gelu = helper.make_node("Gelu", ["m"], ["y"], name="gelu", domain="com.microsoft")
    graph = helper.make_graph([mm, gelu], "contrib", [a], [y], [w])
    model = helper.make_model(
        graph,
        producer_name="onnxruntime.transformers",
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
    )
    out = os.path.join(BENIGN, "contrib_ops.onnx")
    save_raw(out, model)
    record(out, "benign", f"onnx.helper (onnx {onnx.__version__}): onnxruntime contrib ops FusedMatMul and Gelu in com.microsoft, as its optimiser writes them")


def local_function():
    fn = helper.make_function(
        "custom.local",
        "Swish",
        ["x"],
        ["y"],
        [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
        [helper.make_opsetid("", 19)],
    )
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    node = helper.make_node("Swish", ["x"], ["y"], name="swish0", domain="custom.local")
    graph = helper.make_graph([node], "with_function", [x], [y])
    model = helper.make_model(
        graph,
        producer_name="onnx.helper",
        opset_imports=[helper.make_opsetid("", 19), helper.make_opsetid("custom.local", 1)],
        functions=[fn],
    )
    onnx.checker.check_model(model)
    out = os.path.join(BENIGN, "local_function.onnx")
    onnx.save_model(model, out)
    record(out, "benign", f"onnx.helper (onnx {onnx.__version__}): a model-local function custom.local.Swish and a node calling it")


def external_data():
    d = os.path.join(BENIGN, "external")
    os.makedirs(d, exist_ok=True)
    # onnx appends to an existing data file: start from nothing.
    for old in ("model.onnx", "weights.bin"):
        if os.path.exists(os.path.join(d, old)):
            os.remove(os.path.join(d, old))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    # Weights start with 0.0 so that the data file does not begin like another format.
    w = numpy_helper.from_array((np.arange(32, dtype=np.float32) / 32).reshape(8, 4), "w")
    b = numpy_helper.from_array(np.zeros(4, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm")], "external", [x], [y], [w, b]
    )
    model = helper.make_model(graph, producer_name="onnx.helper", opset_imports=[helper.make_opsetid("", 19)])
    out = os.path.join(d, "model.onnx")
    onnx.save_model(model, out, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    record(out, "benign", f"onnx.save_model(save_as_external_data=True, size_threshold=0) (onnx {onnx.__version__}): Gemm weights in weights.bin")
    record(os.path.join(d, "weights.bin"), "benign", "the external data file of external/model.onnx (raw float32)")


# ---- malicious and malformed ----


def external_tensor(name, location, offset=None, length=None, extra=()):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend([4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location), ("offset", offset), ("length", length), *extra]:
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, v
    return t


def simple_model(initializers, nodes=None, name="main", opsets=None, sparse=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    nodes = nodes or [helper.make_node("Add", ["x", initializers[0].name if initializers else "x"], ["y"], name="add0")]
    graph = helper.make_graph(nodes, name, [x], [y], list(initializers), sparse_initializer=list(sparse))
    return helper.make_model(graph, producer_name="crafted", opset_imports=opsets or [helper.make_opsetid("", 19)])


def malicious():
    os.makedirs(MALICIOUS, exist_ok=True)
    m = lambda name: os.path.join(MALICIOUS, name)  # noqa: E731

    save_raw(m("ext_traversal_passwd.onnx"), simple_model([external_tensor("w", "../../../../etc/passwd", "0", "16")]))
    record(m("ext_traversal_passwd.onnx"), "malicious", "external data location ../../../../etc/passwd (path traversal, CVE-2024-27318 style)", ["MOD321"])

    save_raw(m("ext_absolute_shadow.onnx"), simple_model([external_tensor("w", "/etc/shadow")]))
    record(m("ext_absolute_shadow.onnx"), "malicious", "external data location /etc/shadow (absolute path)", ["MOD321"])

    save_raw(
        m("ext_windows_paths.onnx"),
        simple_model(
            [
                external_tensor("w", "C:\\Windows\\System32\\config\\SAM"),
                external_tensor("b", "\\\\evil.example\\share\\w.bin"),
            ]
        ),
    )
    record(m("ext_windows_paths.onnx"), "malicious", "external data at a Windows drive path and a UNC share", ["MOD321"])

    then_const = helper.make_node("Constant", [], ["c"], name="stolen_const")
    attr = helper.make_attribute("value", external_tensor("key", "../../../.ssh/id_rsa", "0", "64"))
    then_const.attribute.append(attr)
    then_g = helper.make_graph([then_const], "then", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["e"], name="ident")], "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, [4])]
    )
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    g = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], name="if0", then_branch=then_g, else_branch=else_g)], "main", [cond, x], [y]
    )
    save_raw(m("ext_if_constant.onnx"), helper.make_model(g, producer_name="crafted", opset_imports=[helper.make_opsetid("", 19)]))
    record(m("ext_if_constant.onnx"), "malicious", "a Constant inside an If then_branch with its value stored at ../../../.ssh/id_rsa", ["MOD321"])

    values = external_tensor("sparse_values", "file:///etc/passwd")
    indices = numpy_helper.from_array(np.array([0, 2], dtype=np.int64), "sparse_indices")
    sparse = helper.make_sparse_tensor(values, indices, [4])
    save_raw(m("ext_sparse_url.onnx"), simple_model([], sparse=[sparse]))
    record(m("ext_sparse_url.onnx"), "malicious", "a sparse initializer whose values are stored at file:///etc/passwd", ["MOD321"])

    no_loc = external_tensor("no_location", None, "0", "16")
    bad_len = external_tensor("bad_length", "weights.bin", "0", "-1", extra=[("__class__", "os.system")])
    save_raw(m("ext_invalid_fields.onnx"), simple_model([no_loc, bad_len]))
    record(m("ext_invalid_fields.onnx"), "malformed", "EXTERNAL tensor without a location; length -1; unknown external_data key __class__", ["MOD322"])

    save_raw(m("ext_short_self.onnx"), simple_model([external_tensor("w", "ext_short_self.onnx", "0", "1000000000")]))
    record(m("ext_short_self.onnx"), "malformed", "external data location is the model file itself, with a length it does not have", ["MOD322"])

    save_raw(m("ext_missing_file.onnx"), simple_model([external_tensor("w", "missing_weights.bin", "0", "16")]))
    record(m("ext_missing_file.onnx"), "malformed", "external data file missing_weights.bin is not beside the model (low)", ["MOD322"])

    evil = helper.make_node("EvilOp", ["x"], ["y"], name="evil0", domain="com.evil.ops")
    save_raw(
        m("custom_domain_top.onnx"),
        simple_model([], nodes=[evil], opsets=[helper.make_opsetid("", 19), helper.make_opsetid("com.evil.ops", 1)]),
    )
    record(m("custom_domain_top.onnx"), "malicious", "a node in custom operator domain com.evil.ops (needs a native custom-op library)", ["MOD323"])

    body_in = [
        helper.make_tensor_value_info("i", TensorProto.INT64, []),
        helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
        helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [4]),
    ]
    body_out = [
        helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
        helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [4]),
    ]
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"], name="keep_going"),
            helper.make_node("Payload", ["v_in"], ["v_out"], name="payload", domain="com.evil.ops"),
        ],
        "loop_body",
        body_in,
        body_out,
    )
    trip = helper.make_tensor_value_info("trip", TensorProto.INT64, [])
    c0 = helper.make_tensor_value_info("c0", TensorProto.BOOL, [])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    g = helper.make_graph(
        [helper.make_node("Loop", ["trip", "c0", "x"], ["y"], name="loop0", body=body)], "main", [trip, c0, x], [y]
    )
    save_raw(
        m("custom_domain_loop_body.onnx"),
        helper.make_model(
            g, producer_name="crafted", opset_imports=[helper.make_opsetid("", 19), helper.make_opsetid("com.evil.ops", 1)]
        ),
    )
    record(m("custom_domain_loop_body.onnx"), "malicious", "a com.evil.ops node hidden inside a Loop body", ["MOD323"])

    save_raw(
        m("opset_unknown_domain.onnx"),
        simple_model([], opsets=[helper.make_opsetid("", 19), helper.make_opsetid("com.evil.ops", 1)]),
    )
    record(m("opset_unknown_domain.onnx"), "malicious", "an opset import of com.evil.ops that no node uses (low)", ["MOD323"])

    with open(os.path.join(BENIGN, "torch_mlp.onnx"), "rb") as f:
        whole = f.read()
    write(m("truncated.onnx"), whole[: len(whole) * 6 // 10])
    record(m("truncated.onnx"), "malformed", "torch_mlp.onnx cut at 60% of its bytes", ["MOD324"])

    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    write(m("length_2p63.onnx"), b"\x08\x09" + b"\x3a" + varint(1 << 63) + b"\x0a\x00" * 8)
    record(m("length_2p63.onnx"), "malformed", "the graph field declares a length of 2^63 bytes", ["MOD324"])

    node = b"\x18\x05" + b"\x22\x03Add"  # name (3) as a varint, then op_type
    graph = b"\x0a" + varint(len(node)) + node
    write(m("wrong_wire_type.onnx"), b"\x08\x09\x12\x07crafted" + b"\x3a" + varint(len(graph)) + graph)
    record(m("wrong_wire_type.onnx"), "malformed", "a node whose name field is a varint, not a string", ["MOD324"])

    # Python protobuf refuses to build messages this deep, so the nesting is written as raw
    # protobuf: GraphProto.node (1) > NodeProto.attribute (5) > AttributeProto.g (6) > ...
    def ld(field, payload):
        return varint(field << 3 | 2) + varint(len(payload)) + payload

    graph = ld(1, ld(4, b"Identity") + ld(3, b"leaf"))
    for level in range(39, -1, -1):
        attr = ld(1, b"then_branch") + varint(20 << 3) + varint(5) + ld(6, graph)
        graph = ld(1, ld(4, b"If") + ld(3, f"if{level}".encode()) + ld(5, attr)) + ld(2, f"g{level}".encode())
    write(m("deep_nesting.onnx"), b"\x08\x09" + ld(2, b"crafted") + ld(7, graph) + ld(8, ld(1, b"") + varint(2 << 3) + varint(19)))
    record(m("deep_nesting.onnx"), "malformed", "If subgraphs nested 40 deep", ["GEN002"])

    import base64

    payload = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."
    model = simple_model([], opsets=[helper.make_opsetid("", 19)])
    helper.set_model_props(model, {"preprocessor": base64.b64encode(payload).decode(), "author": "crafted"})
    save_raw(m("metadata_pickle.onnx"), model)
    record(
        m("metadata_pickle.onnx"), "malicious", "metadata_props value: a base64 pickle calling os.system", ["MOD111", "MOD101"]
    )
    MANIFEST[-1]["imports"] = ["os.system"]


def main():
    torch_models()
    helper_if_subgraph()
    sklearn_models()
    contrib_ops()
    local_function()
    external_data()
    malicious()
    MANIFEST.sort(key=lambda e: e["file"])
    with open(os.path.join(MODELS, "manifest.onnx.json"), "w") as f:
        json.dump(MANIFEST, f, indent=2)
        f.write("\n")
    print(f"wrote {len(MANIFEST)} fixtures", file=sys.stderr)


if __name__ == "__main__":
    main()
