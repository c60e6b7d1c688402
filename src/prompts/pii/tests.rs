use super::*;

fn detector() -> PiiDetector {
    PiiDetector::builtin().expect("built-in PII rules compile")
}

fn scan(d: &PiiDetector, text: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    d.scan(text, &mut out);
    out
}

#[test]
fn yaml_examples_hold() {
    let d = detector();
    let spec = PiiSpec::builtin().unwrap();
    let sections = [
        (Rule::PiiEmail, &spec.email.matches, &spec.email.ignores),
        (Rule::PiiPhone, &spec.phone.matches, &spec.phone.ignores),
        (Rule::PiiCreditCard, &spec.card.matches, &spec.card.ignores),
        (Rule::PiiIban, &spec.iban.matches, &spec.iban.ignores),
        (Rule::PiiUsSsn, &spec.ssn.matches, &spec.ssn.ignores),
        (Rule::PiiSpanishId, &spec.spanish_id.matches, &spec.spanish_id.ignores),
        (Rule::PiiIpAddress, &spec.ip.matches, &spec.ip.ignores),
    ];
    let mut failures = Vec::new();
    for (rule, matches, ignores) in sections {
        for m in matches {
            let hits = scan(&d, m);
            if !hits.iter().any(|h| h.rule == rule) {
                failures.push(format!("{}: should match {m:?}, got {hits:?}", rule.id()));
            }
            for h in &hits {
                let value = &m[h.start..h.end];
                if value.len() > 6 && h.evidence.contains(value) {
                    failures.push(format!("{}: evidence not masked {h:?}", rule.id()));
                }
            }
        }
        for m in ignores {
            let hits = scan(&d, m);
            if hits.iter().any(|h| h.rule == rule) {
                failures.push(format!("{}: should ignore {m:?}, got {hits:?}", rule.id()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn validators() {
    let digits = |s: &str| {
        s.bytes()
            .filter(u8::is_ascii_digit)
            .map(|c| c - b'0')
            .collect::<Vec<u8>>()
    };
    assert!(luhn(&digits("4111111111111111")));
    assert!(luhn(&digits("378282246310005")));
    assert!(!luhn(&digits("4111111111111112")));
    assert!(!luhn(&[]));
    assert!(mod97_ok(b"DE89370400440532013000"));
    assert!(mod97_ok(b"GB82WEST12345698765432"));
    assert!(!mod97_ok(b"DE89370400440532013001"));
    assert!(!mod97_ok(b"DE8"));
    let ssn = |s: &str| digits(s).iter().map(|&x| u32::from(x)).collect::<Vec<u32>>();
    assert!(ssn_ok(&ssn("123-45-6789")));
    assert!(!ssn_ok(&ssn("000-45-6789")));
    assert!(!ssn_ok(&ssn("666-45-6789")));
    assert!(!ssn_ok(&ssn("900-45-6789")));
    assert!(!ssn_ok(&ssn("123-00-6789")));
    assert!(!ssn_ok(&ssn("123-45-0000")));
    assert_eq!(dni_letter(12345678), b'Z');
    assert_eq!(dni_letter(0), b'T');
    assert!(ipv4_public([81, 2, 69, 142]));
    assert!(!ipv4_public([192, 168, 0, 1]));
    assert_eq!(mask_ip("81.2.69.142"), "81.2.*.*");
}

#[test]
fn evidence_and_redaction() {
    let d = detector();
    let text = "card 4111 1111 1111 1111, mail jane.doe@corp-mail.com, SSN 123-45-6789";
    let hits = scan(&d, text);
    let ev: Vec<(&str, Option<&str>)> = hits.iter().map(|h| (h.evidence.as_str(), h.redact)).collect();
    assert_eq!(
        ev,
        [
            ("**** **** **** 1111", Some("CREDIT_CARD")),
            ("j***@corp-mail.com", Some("EMAIL")),
            ("***-**-6789", Some("SSN"))
        ]
    );
    for h in &hits {
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
        assert!(!h.key.contains("4111"));
    }
}

#[test]
fn hard_negatives() {
    let d = detector();
    let texts = [
        "commit 3f2a9c1234567890ab8c7d6e5f4a3b2c1d0e9f8a",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "550e8400-e29b-41d4-a716-446655440000",
        "data:image/png;base64,iVBORw0KGgo4111111111111111AAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "numpy==1.26.4 torch 2.1.0 python 3.11.2 release 10.2.3.4",
        "2024-01-05T12:30:45Z 2024-01-05 12:30:45.123 05/01/2024 1717171717",
        "Order #1234567890123456 shipped",
        "price 1,234,567.89 and 4111111111111112",
        "Luhn fail 5555 5555 5555 4445",
        "build id 20240105-123045-000123",
        "tokens: 4096, 8192, 32768, 131072",
        "@2x.png @3x.webp",
    ];
    for t in texts {
        let hits = scan(&d, t);
        assert!(hits.is_empty(), "{t:?} gave {hits:?}");
    }
}

#[test]
fn no_panic_on_odd_input() {
    let d = detector();
    let mut s = String::new();
    for piece in [
        "é", "+", "4111", "(", "@", "€", "DE89", "X123", " ", "2a00:", "::", "1.", "𝔸", "-",
    ] {
        s.push_str(piece);
        for cut in 0..=s.len() {
            if s.is_char_boundary(cut) {
                let _ = scan(&d, &s[..cut]);
                let _ = scan(&d, &s[cut..]);
            }
        }
    }
    let _ = scan(&d, &"9".repeat(10_000));
    let _ = scan(&d, &"1 ".repeat(10_000));
    let _ = scan(&d, &"a@".repeat(10_000));
}

#[test]
fn send_sync() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<PiiDetector>();
}
