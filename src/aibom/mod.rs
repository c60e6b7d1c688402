//! `aibom`: an AI bill of materials in CycloneDX (1.6, or 1.5 on request).
//!
//! The inventory comes from content (the walker and `scan-model`'s format detection and header
//! parsers), the datasets from lineage metadata, and with `--scan` the findings of the run
//! become the document's `vulnerabilities`. The document is a typed value (`cdx::Bom`) rendered
//! by `render` here, next to the report renderers; the run's findings (gaps in the inventory,
//! `BOM0xx`) go through the one `Report` like every other subcommand's.
//!
//! Why not the `cyclonedx-bom` crate: its 0.8 series models specification 1.5 at most, and
//! leaves a model card's `considerations` empty, so it cannot carry what this document needs.

pub mod card;
pub mod cdx;
pub mod checks;
pub mod dataset;
pub mod document;
pub mod inventory;

use std::io::Write;

/// What OMS signature verification (`scan-model`'s signing checks) says of a model directory.
/// Until that check is wired in, every model is `NotChecked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureState {
    /// No verification ran.
    NotChecked,
    /// No signature beside the model.
    Unsigned,
    /// A signature verified against a trusted key or certificate, and every digest matched.
    Verified,
    /// A signature that did not verify, or files that no longer match it.
    Invalid,
}

impl SignatureState {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureState::NotChecked => "not-checked",
            SignatureState::Unsigned => "unsigned",
            SignatureState::Verified => "verified",
            SignatureState::Invalid => "invalid",
        }
    }
}

/// A model component's signature slot: rendered as `llmguard:signature:*` properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub status: SignatureState,
    /// The identity that signed (certificate subject or key id), when verified.
    pub signer: Option<String>,
}

impl Signature {
    pub const NOT_CHECKED: Signature = Signature {
        status: SignatureState::NotChecked,
        signer: None,
    };
}

/// Give the document its serial number: a name-based (version 5) UUID of the document's own
/// bytes without one, so the same tree gives the same serial number and any change a new one.
pub fn seal(mut bom: cdx::Bom) -> cdx::Bom {
    bom.serial_number = String::new();
    let bytes = serde_json::to_vec(&bom).unwrap_or_default();
    let namespace = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://github.com/llmguard/llmguard#aibom",
    );
    bom.serial_number = format!("urn:uuid:{}", uuid::Uuid::new_v5(&namespace, &bytes));
    bom
}

/// Write the document as pretty JSON with a final newline.
pub fn render(bom: &cdx::Bom, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, bom)?;
    writeln!(out)?;
    out.flush()
}

/// RFC 3339 UTC time of `secs` since the Unix epoch (days to civil date after H. Hinnant).
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The document's timestamp: `SOURCE_DATE_EPOCH` when set (reproducible builds), else the
/// current time when `--timestamp` asks for one, else none.
pub fn timestamp(asked: bool, source_date_epoch: Option<&str>) -> Result<Option<String>, String> {
    if let Some(v) = source_date_epoch {
        let secs: u64 = v
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH `{v}` is not a whole number of seconds"))?;
        return Ok(Some(rfc3339(secs)));
    }
    if asked {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Ok(Some(rfc3339(now)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(timestamp(false, None), Ok(None));
        assert_eq!(timestamp(true, Some("86400")), Ok(Some("1970-01-02T00:00:00Z".into())));
        assert!(timestamp(false, Some("yesterday")).is_err());
        assert!(timestamp(true, None).unwrap().unwrap().ends_with('Z'));
    }

    #[test]
    fn serial_follows_content() {
        let b = cdx::Bom {
            schema: cdx::SpecVersion::V1_6.schema_uri(),
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: String::new(),
            version: 1,
            metadata: cdx::Metadata::default(),
            components: Vec::new(),
            dependencies: Vec::new(),
            vulnerabilities: Vec::new(),
            properties: Vec::new(),
        };
        let a = seal(b.clone());
        assert_eq!(a.serial_number, seal(b.clone()).serial_number);
        assert!(checks::self_check(&a).iter().all(|p| !p.contains("serial")));
        let mut c = b;
        c.metadata.component.name = "other".into();
        assert_ne!(a.serial_number, seal(c).serial_number);
    }
}
