//! Any bytes through the OMS signature parsers: the Sigstore bundle, the in-toto statement
//! (also the payload of any bundle that parses), and the X.509 certificate and public key
//! parsers that the certificate and key methods feed bundle bytes to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::oms::{pae, parse_bundle, parse_statement};
use llmguard::signing::pki::{Cert, PublicKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = parse_bundle(data) {
        let _ = parse_statement(&b.payload);
        let _ = pae(&b.payload_type, &b.payload);
    }
    let _ = parse_statement(data);
    if let Ok(c) = Cert::from_der(data) {
        let _ = c.self_issued();
    }
    let _ = PublicKey::from_spki_der(data);
});
