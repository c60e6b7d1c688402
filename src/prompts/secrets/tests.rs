use super::*;

fn detector() -> SecretDetector {
    SecretDetector::builtin().expect("built-in secrets rules compile")
}

fn scan(d: &SecretDetector, text: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    d.scan(text, &mut out);
    out
}

/// Every hit's evidence and message must not contain the matched value.
fn assert_masked(text: &str, hits: &[Hit]) {
    for h in hits {
        let value = &text[h.start..h.end];
        assert!(!h.evidence.contains(value), "evidence shows the value: {h:?}");
        assert!(!h.message.contains(value), "message shows the value: {h:?}");
        assert!(!h.key.contains(value), "key shows the value: {h:?}");
        assert!(h.redact.is_some());
    }
}

#[test]
fn yaml_examples_hold() {
    let d = detector();
    let spec = SecretSpec::builtin().unwrap();
    let mut failures = Vec::new();
    let named = |hits: &[Hit], name: &str| hits.iter().any(|h| h.key.starts_with(&format!("{name}:")));
    for p in &spec.providers {
        for m in &p.matches {
            let hits = scan(&d, m);
            if !named(&hits, &p.name) {
                failures.push(format!("{}: should match {m:?}, got {hits:?}", p.name));
            }
            assert_masked(m, &hits);
        }
        for m in &p.ignores {
            if named(&scan(&d, m), &p.name) {
                failures.push(format!("{}: should ignore {m:?}", p.name));
            }
        }
    }
    for k in &spec.keyed {
        for m in &k.matches {
            let hits = scan(&d, m);
            if !named(&hits, &k.name) {
                failures.push(format!("{}: should match {m:?}, got {hits:?}", k.name));
            }
            assert_masked(m, &hits);
        }
        for m in &k.ignores {
            if named(&scan(&d, m), &k.name) {
                failures.push(format!("{}: should ignore {m:?}", k.name));
            }
        }
    }
    for m in &spec.documentation.matches {
        let hits = scan(&d, m);
        if !hits.iter().any(|h| h.severity == Severity::Low) || hits.iter().any(|h| h.severity > Severity::Low) {
            failures.push(format!("documentation: {m:?} should be low only, got {hits:?}"));
        }
    }
    let by_rule = [
        (
            Rule::SecretPrivateKey,
            &spec.private_key.matches,
            &spec.private_key.ignores,
        ),
        (Rule::SecretJwt, &spec.jwt.matches, &spec.jwt.ignores),
        (
            Rule::SecretGenericAssignment,
            &spec.generic.matches,
            &spec.generic.ignores,
        ),
    ];
    for (rule, matches, ignores) in by_rule {
        for m in matches {
            let hits = scan(&d, m);
            if !hits.iter().any(|h| h.rule == rule) {
                failures.push(format!("{}: should match {m:?}, got {hits:?}", rule.id()));
            }
            assert_masked(m, &hits);
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
fn github_checksum() {
    assert!(github_crc32_ok("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"));
    assert!(github_crc32_ok("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"));
    // One character of the random part changed.
    assert!(!github_crc32_ok("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh9024xXH"));
    assert!(!github_crc32_ok("ghp_"));
    assert!(!github_crc32_ok("ghp_é€é€é€é€"));
    assert!(!github_crc32_ok("nounderscore"));
}

#[test]
fn entropy_and_keys() {
    assert_eq!(entropy(b""), 0.0);
    assert_eq!(entropy(b"aaaa"), 0.0);
    assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    let k = value_key("aws-access-key", "AKIANNEFJQXIRHXO77ZB");
    assert!(k.starts_with("aws-access-key:") && k.len() == "aws-access-key:".len() + 8);
    assert_eq!(k, value_key("aws-access-key", "AKIANNEFJQXIRHXO77ZB"));
}

#[test]
fn documented_aws_keys_are_low() {
    let d = detector();
    let text =
        "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    let hits = scan(&d, text);
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits
        .iter()
        .all(|h| h.severity == Severity::Low && h.rule == Rule::SecretProviderKey));
}

#[test]
fn spans_and_redaction_kinds() {
    let d = detector();
    let text = "export OPENAI_API_KEY=\"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\" # prod";
    let hits = scan(&d, text);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let h = &hits[0];
    assert_eq!(
        &text[h.start..h.end],
        "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"
    );
    assert_eq!(h.redact, Some("OPENAI_KEY"));
    assert_eq!(h.evidence, "sk-… (51 chars, masked)");
    assert_eq!(h.severity, Severity::Critical);
}

#[test]
fn private_key_block_spans_the_whole_block() {
    let d = detector();
    let spec = SecretSpec::builtin().unwrap();
    let block = &spec.private_key.matches[0];
    let text = format!("here is my key:\n{block}\nthanks");
    let hits = scan(&d, &text);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(&text[hits[0].start..hits[0].end], block.as_str());
    assert!(hits[0].evidence.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
}

#[test]
fn hard_negatives() {
    let d = detector();
    let texts = [
        // git SHAs, sha256, UUIDs, base64 images, prose about secrets
        "commit 3f2a9c1234567890ab8c7d6e5f4a3b2c1d0e9f8a",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "id: 550e8400-e29b-41d4-a716-446655440000",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "Never paste your API key (it starts with sk-) into a prompt; rotate tokens often.",
        "Set the password: use a long passphrase and keep it in a vault.",
        "if password == \"\": raise ValueError",
        "token = tokenizer.encode(text)",
        "auth: { type: oauth2 }",
        "password = request.form['password']",
        "secret_key = os.getenv('SECRET_KEY')",
        "api_key: str",
        "\"authorization\": \"Bearer <token>\"",
        "ghp_ghp_ghp_ eyJ eyJhbGciOiJIUzI1NiJ9. -----BEGIN PRIVATE KEY-----",
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
        "é",
        "sk-",
        "€",
        "=",
        "\"",
        ":",
        "eyJ",
        "-----BEGIN ",
        "AKIA",
        "ghp_",
        "'",
        "\\n",
        "𝔸",
        "://",
        "u:",
        "pä$$wörd9",
        "@",
        "sig=",
        "%3D",
    ] {
        s.push_str(piece);
        for cut in 0..=s.len() {
            if s.is_char_boundary(cut) {
                let _ = scan(&d, &s[..cut]);
                let _ = scan(&d, &s[cut..]);
            }
        }
    }
    let long = format!("password=\"{}\"", "é".repeat(500));
    let _ = scan(&d, &long);
    let long = format!("token={}", "a1".repeat(5000));
    let _ = scan(&d, &long);
}

#[test]
fn send_sync() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<SecretDetector>();
}

#[test]
fn passwords_in_urls() {
    let d = detector();
    for (text, password) in [
        (
            "DATABASE_URL=postgres://admin:Zq7v9XkP2mLw8RtY@db.internal:5432/prod",
            "Zq7v9XkP2mLw8RtY",
        ),
        ("redis://:a8F5f167f44F4964e6c9@cache:6379/0", "a8F5f167f44F4964e6c9"),
        (
            "clone https://bot:q8R#tz91!LmP0vX@git.example.org/repo.git",
            "q8R#tz91!LmP0vX",
        ),
        (
            "mongodb+srv://svc:Xk2%40pQ9zLm7wR4tY@cluster0.mongodb.net/db",
            "Xk2%40pQ9zLm7wR4tY",
        ),
    ] {
        let hits = scan(&d, text);
        assert_masked(text, &hits);
        let h = hits
            .iter()
            .find(|h| h.rule == Rule::SecretGenericAssignment)
            .unwrap_or_else(|| panic!("{text:?}: {hits:?}"));
        assert_eq!(&text[h.start..h.end], password, "{text:?}");
        assert!(h.key.starts_with("url-password:"), "{h:?}");
    }
    for text in [
        "postgres://user:password@localhost:5432/db",
        "postgres://user:${DB_PASSWORD}@localhost/db",
        "mysql://root:changeme@127.0.0.1/app",
        "https://user:pass@host/",
        "https://example.com/a:b@c",
        "see https://docs.example.com/@user and mailto:someone@example.com",
        "amqp://guest:guest@rabbit:5672/",
        "postgres://app:<password>@db/prod",
        "postgres://app:********@db/prod",
        "http://user:p4ssw0rd@proxy:3128",
    ] {
        let hits = scan(&d, text);
        assert!(
            !hits.iter().any(|h| h.key.starts_with("url-password:")),
            "{text:?}: {hits:?}"
        );
    }
}
