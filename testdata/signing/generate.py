#!/usr/bin/env python3
"""Regenerate the OMS (OpenSSF Model Signing) fixtures under testdata/signing/.

Signs small model directories with the REAL `model-signing` tool from PyPI and writes the
tampered variants the tests expect. Run it with an interpreter that has the tool installed:

    python3 -m venv /tmp/oms && /tmp/oms/bin/pip install model-signing==1.1.1 pyopenssl==26.4.0
    /tmp/oms/bin/python testdata/signing/generate.py

(model-signing 1.1.1 imports `OpenSSL` without declaring it, hence pyopenssl.) It needs the
`openssl` command for the throwaway PKI. Every run makes fresh keys, so every output changes;
commit them together. Private keys are written to a temporary directory and discarded: only
public keys and certificates are kept (under keys/).

What it writes (testdata/signing/fixtures.json lists each case and what llmguard must say):
  models/key-ok/                key method, fresh P-256 key, `model.sig` inside the directory
  models/key-p384/              key method with a P-384 key
  models/key-shards/            key method, `shards` serialization (shard size 16), via the API
                                (the CLI signs only with `files`)
  models/cert-ok/               certificate method: leaf <- intermediate <- root, all EC P-256
  models/cert-rsa-root/         certificate method under an RSA-2048 root and intermediate
  models/sibling/ + sibling.sig signature beside the directory instead of inside it
  models/single/model.safetensors(.sig)  a single-file model and its signature beside it
  models/tampered-byte/         key-ok with one byte of model.safetensors changed
  models/tampered-added/        key-ok plus a file added after signing
  models/tampered-removed/      key-ok with a file removed after signing
  models/tampered-payload/      key-ok with a digest in the signed payload edited (signature kept)
  models/wrong-key/             signed by a key that is not trusted
  models/other-model/           key-ok's model.sig copied into a different model
  models/truncated/             key-ok's model.sig cut in half
  models/cert-wrong-ca/         certificate chain to a root the verifier does not trust
  models/cert-expired/          leaf certificate valid 2020-01-01..2021-01-01
  models/cert-not-yet-valid/    leaf certificate valid from 2100
  models/cert-no-signing-usage/ leaf with keyUsage keyAgreement only and no codeSigning EKU
  models/cert-intermediate-not-ca/  the intermediate has basicConstraints CA:FALSE
  models/cert-pathlen-exceeded/ two intermediates under one with pathlen:0
  models/cert-unknown-critical/ the leaf carries a critical extension nobody knows (1.3.6.1.4.1.55555.1)
  models/cert-server-auth-only/ leaf keyUsage digitalSignature but extendedKeyUsage serverAuth only
  models/keyless/               a Sigstore keyless bundle shape (Fulcio certificate + tlog entry);
                                the services are not reachable here, so its bytes are synthetic
  models/unsigned/              a model with no signature at all
"""

import base64
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
MODELS = HERE / "models"
KEYS = HERE / "keys"


def run(*args, cwd=None):
    p = subprocess.run([str(a) for a in args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{p.stdout.decode(errors='replace')}")


def safetensors_bytes(values):
    """A valid safetensors file with one F32 tensor `w` holding `values`."""
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def write_model(d, seed=0.0):
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"architectures": ["TinyNet"], "hidden_size": 4}) + "\n")
    (d / "model.safetensors").write_bytes(safetensors_bytes([seed + i * 0.5 for i in range(12)]))
    (d / "tokenizer").mkdir()
    (d / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\nworld\n")
    # Ignored by the tool's defaults (.git, .gitattributes, .github, .gitignore).
    (d / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")


def tool(*args):
    run(sys.executable, "-m", "model_signing", *args)


def openssl_ca(tmp, name, issuer, issuer_key, ext, key_alg="ec", start=None, end=None):
    """A certificate `name` signed by `issuer` (None: self-signed) with the extensions `ext`."""
    key = tmp / f"{name}.key"
    if key_alg == "rsa":
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
    else:
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    csr = tmp / f"{name}.csr"
    run("openssl", "req", "-new", "-key", key, "-subj", f"/O=llmguard test/CN={name}", "-out", csr)
    extfile = tmp / f"{name}.ext"
    extfile.write_text(f"[ext]\n{ext}\n")
    cert = tmp / f"{name}.pem"
    # `openssl ca` is the one 3.0 command that takes explicit validity dates.
    db = tmp / f"{name}-ca"
    db.mkdir()
    (db / "index.txt").write_text("")
    conf = db / "ca.cnf"
    conf.write_text(
        "[ca]\ndefault_ca = d\n[d]\n"
        f"database = {db}/index.txt\nnew_certs_dir = {db}\nserial = {db}/serial\n"
        "default_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n"
        "[p]\norganizationName = supplied\ncommonName = supplied\n"
    )
    (db / "serial").write_text(os.urandom(8).hex() + "\n")
    args = ["openssl", "ca", "-batch", "-notext", "-config", conf, "-in", csr, "-out", cert,
            "-extfile", extfile, "-extensions", "ext",
            "-startdate", start or "20260101000000Z", "-enddate", end or "21250101000000Z"]
    if issuer is None:
        args += ["-selfsign", "-keyfile", key]
    else:
        args += ["-cert", issuer, "-keyfile", issuer_key]
    run(*args)
    return key, cert


CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash"
LEAF_EXT = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid")


def pki(tmp, prefix, key_alg="ec"):
    root_key, root = openssl_ca(tmp, f"{prefix}-root", None, None, CA_EXT, key_alg)
    inter_key, inter = openssl_ca(tmp, f"{prefix}-intermediate", root, root_key,
                                  CA_EXT + "\nbasicConstraints=critical,CA:TRUE,pathlen:0", key_alg)
    return root, root_key, inter, inter_key


def sign_cert(model, sig, leaf_key, leaf, chain):
    tool("sign", "certificate", model, "--signature", sig, "--private_key", leaf_key,
         "--signing_certificate", leaf, "--certificate_chain", chain)


def main():
    for d in (MODELS, KEYS):
        if d.exists():
            shutil.rmtree(d)
    KEYS.mkdir()
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)

        def keypair(name, curve="P-256"):
            priv = tmp / f"{name}.key"
            run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", priv)
            run("openssl", "pkey", "-in", priv, "-pubout", "-out", KEYS / f"{name}.pub")
            return priv

        key = keypair("team")
        p384 = keypair("team-p384", "P-384")
        wrong = keypair("stranger")

        def sign_key(model, priv, sig=None):
            tool("sign", "key", model, "--signature", sig or model / "model.sig", "--private_key", priv)

        write_model(MODELS / "key-ok")
        sign_key(MODELS / "key-ok", key)
        write_model(MODELS / "key-p384")
        sign_key(MODELS / "key-p384", p384)

        # Shards: only the Python API offers it.
        sys.path.insert(0, "")
        import model_signing

        write_model(MODELS / "key-shards")
        hashing = model_signing.hashing.Config().use_shard_serialization(shard_size=16).set_ignored_paths(
            paths=["model.sig"], ignore_git_paths=True)
        model_signing.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(
            hashing).sign(MODELS / "key-shards", MODELS / "key-shards" / "model.sig")

        write_model(MODELS / "sibling")
        sign_key(MODELS / "sibling", key, MODELS / "sibling.sig")
        (MODELS / "single").mkdir()
        (MODELS / "single" / "model.safetensors").write_bytes(safetensors_bytes([1.0, 2.0, 3.0, 4.0]))
        sign_key(MODELS / "single" / "model.safetensors", key, MODELS / "single" / "model.safetensors.sig")

        # Tampered copies of key-ok.
        def copy(name):
            shutil.copytree(MODELS / "key-ok", MODELS / name)
            return MODELS / name

        m = copy("tampered-byte")
        b = bytearray((m / "model.safetensors").read_bytes())
        b[-3] ^= 0x40
        (m / "model.safetensors").write_bytes(bytes(b))
        m = copy("tampered-added")
        (m / "tokenizer" / "merges.txt").write_text("h e\nl l\n")
        m = copy("tampered-removed")
        (m / "tokenizer" / "vocab.txt").unlink()
        m = copy("truncated")
        sig = (m / "model.sig").read_bytes()
        (m / "model.sig").write_bytes(sig[: len(sig) // 2])
        m = copy("tampered-payload")
        bundle = json.loads((m / "model.sig").read_text())
        payload = base64.b64decode(bundle["dsseEnvelope"]["payload"]).decode()
        digest = json.loads(payload)["predicate"]["resources"][0]["digest"]
        payload = payload.replace(digest, digest[::-1])
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload.encode()).decode()
        (m / "model.sig").write_text(json.dumps(bundle, indent=2) + "\n")
        write_model(MODELS / "wrong-key")
        sign_key(MODELS / "wrong-key", wrong)
        write_model(MODELS / "other-model", seed=100.0)
        shutil.copy(MODELS / "key-ok" / "model.sig", MODELS / "other-model" / "model.sig")

        # Certificate method.
        root, root_key, inter, inter_key = pki(tmp, "ec")
        shutil.copy(root, KEYS / "root-ca.pem")
        chain = tmp / "chain.pem"
        chain.write_bytes(inter.read_bytes())

        def leaf(name, ext=LEAF_EXT, start=None, end=None, issuer=inter, issuer_key=inter_key):
            return openssl_ca(tmp, name, issuer, issuer_key, ext, start=start, end=end)

        lk, lc = leaf("model-signer")
        write_model(MODELS / "cert-ok")
        sign_cert(MODELS / "cert-ok", MODELS / "cert-ok" / "model.sig", lk, lc, chain)

        rroot, rroot_key, rinter, rinter_key = pki(tmp, "rsa", "rsa")
        shutil.copy(rroot, KEYS / "rsa-root-ca.pem")
        rk, rc = leaf("rsa-model-signer", issuer=rinter, issuer_key=rinter_key)
        write_model(MODELS / "cert-rsa-root")
        rchain = tmp / "rchain.pem"
        rchain.write_bytes(rinter.read_bytes())
        sign_cert(MODELS / "cert-rsa-root", MODELS / "cert-rsa-root" / "model.sig", rk, rc, rchain)

        oroot, oroot_key, ointer, ointer_key = pki(tmp, "other")
        ok_, oc = leaf("other-signer", issuer=ointer, issuer_key=ointer_key)
        ochain = tmp / "ochain.pem"
        ochain.write_bytes(ointer.read_bytes())
        write_model(MODELS / "cert-wrong-ca")
        sign_cert(MODELS / "cert-wrong-ca", MODELS / "cert-wrong-ca" / "model.sig", ok_, oc, ochain)

        ek, ec = leaf("expired-signer", start="20200101000000Z", end="20210101000000Z")
        write_model(MODELS / "cert-expired")
        sign_cert(MODELS / "cert-expired", MODELS / "cert-expired" / "model.sig", ek, ec, chain)
        fk, fc = leaf("future-signer", start="21000101000000Z", end="21100101000000Z")
        write_model(MODELS / "cert-not-yet-valid")
        sign_cert(MODELS / "cert-not-yet-valid", MODELS / "cert-not-yet-valid" / "model.sig", fk, fc, chain)
        nk, nc = leaf("no-usage-signer", ext="basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement")
        write_model(MODELS / "cert-no-signing-usage")
        sign_cert(MODELS / "cert-no-signing-usage", MODELS / "cert-no-signing-usage" / "model.sig", nk, nc, chain)

        # Broken chains under the same trusted root.
        bad_key, bad_inter = openssl_ca(tmp, "not-a-ca", root, root_key,
                                        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign")
        bk, bc = leaf("under-not-a-ca", issuer=bad_inter, issuer_key=bad_key)
        bchain = tmp / "bchain.pem"
        bchain.write_bytes(bad_inter.read_bytes())
        write_model(MODELS / "cert-intermediate-not-ca")
        sign_cert(MODELS / "cert-intermediate-not-ca", MODELS / "cert-intermediate-not-ca" / "model.sig", bk, bc, bchain)
        deep_key, deep = openssl_ca(tmp, "too-deep", inter, inter_key, CA_EXT)
        dk, dc = leaf("under-too-deep", issuer=deep, issuer_key=deep_key)
        dchain = tmp / "dchain.pem"
        dchain.write_bytes(deep.read_bytes() + inter.read_bytes())
        write_model(MODELS / "cert-pathlen-exceeded")
        sign_cert(MODELS / "cert-pathlen-exceeded", MODELS / "cert-pathlen-exceeded" / "model.sig", dk, dc, dchain)
        uk, uc = leaf("unknown-critical-signer", ext=LEAF_EXT + "\n1.3.6.1.4.1.55555.1=critical,ASN1:NULL")
        write_model(MODELS / "cert-unknown-critical")
        sign_cert(MODELS / "cert-unknown-critical", MODELS / "cert-unknown-critical" / "model.sig", uk, uc, chain)
        sk, sc = leaf("server-auth-signer", ext=LEAF_EXT.replace("codeSigning", "serverAuth"))
        write_model(MODELS / "cert-server-auth-only")
        sign_cert(MODELS / "cert-server-auth-only", MODELS / "cert-server-auth-only" / "model.sig", sk, sc, chain)

        # Keyless: the shape of a Sigstore bundle (certificate + transparency log entry), built
        # from key-ok's envelope; no Fulcio or Rekor is reachable to make a real one.
        write_model(MODELS / "keyless")
        bundle = json.loads((MODELS / "key-ok" / "model.sig").read_text())
        der = base64.b64decode(open(lc).read().split("-----")[2])
        bundle["verificationMaterial"] = {
            "certificate": {"rawBytes": base64.b64encode(der).decode()},
            "tlogEntries": [{"logIndex": "1", "logId": {"keyId": "AAAA"}, "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                             "integratedTime": "1767225600", "canonicalizedBody": "e30="}],
        }
        (MODELS / "keyless" / "model.sig").write_text(json.dumps(bundle, indent=2) + "\n")

        write_model(MODELS / "unsigned")
    print("fixtures written to", HERE)


if __name__ == "__main__":
    main()
