#!/usr/bin/env python3
"""Verify one fixture with the real `model-signing` tool; exit 0 when it accepts the model.

    PYTHON tool_verify.py key|certificate MODEL SIGNATURE TRUST_FILE

`files` signatures go through the command line, `model_signing verify key|certificate`.
The command line always re-hashes with the `files` method (it passes its own hashing
configuration), so it rejects every `shards` signature; those go through the library's
`verifying.Config().verify()`. Left to guess the hashing configuration from the signature,
model-signing 1.1.1 fails on its own shard signatures: `shard_size` comes back from the
protobuf Struct as a float (`16.0`) and `range()` refuses it. So the configuration is given
explicitly, with the signature's own parameters (the shard size as an integer, its
ignore_paths), and the tool still does all of the checking.
"""

import base64
import json
import pathlib
import subprocess
import sys


def main():
    method, model, signature, trust = sys.argv[1:5]
    bundle = json.loads(pathlib.Path(signature).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    if statement["predicate"]["serialization"]["method"] == "shards":
        import model_signing

        ser = statement["predicate"]["serialization"]
        hashing = model_signing.hashing.Config().use_shard_serialization(
            hashing_algorithm=ser["hash_type"],
            shard_size=int(ser["shard_size"]),
            allow_symlinks=ser["allow_symlinks"],
        )
        hashing.set_ignored_paths(paths=ser.get("ignore_paths", []), ignore_git_paths=True)
        config = model_signing.verifying.Config().set_hashing_config(hashing)
        if method == "key":
            config.use_elliptic_key_verifier(public_key=trust)
        else:
            config.use_certificate_verifier(certificate_chain=[trust])
        try:
            config.verify(pathlib.Path(model), pathlib.Path(signature))
        except Exception as e:  # the library raises ValueError and friends on any mismatch
            print(f"Verification failed with error: {e}", file=sys.stderr)
            return 1
        print("Verification succeeded")
        return 0
    flag = "--public_key" if method == "key" else "--certificate_chain"
    cmd = [sys.executable, "-m", "model_signing", "verify", method, model, "--signature", signature, flag, trust]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
