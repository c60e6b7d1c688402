//! SARIF 2.1.0 for GitHub code scanning, through `serde-sarif`'s types. Severity becomes SARIF
//! `level` and `security-severity` here and nowhere else.

use super::Report;
use crate::finding::{Finding, Severity, SuppressionKind};
use crate::rules::Rule;
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool,
    ToolComponent,
};
use std::collections::BTreeMap;
use std::io::Write;

pub const SRCROOT: &str = "%SRCROOT%";

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn level_name(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// GitHub maps `security-severity` to critical (> 9.0), high (7.0–8.9), medium (4.0–6.9) and
/// low (0.1–3.9).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn text(s: impl Into<String>) -> Message {
    Message {
        text: Some(s.into()),
        ..Message::default()
    }
}

fn markdown(plain: &str, md: String) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(plain).markdown(md).build()
}

fn family(rule: Rule) -> &'static str {
    match &rule.id()[..3] {
        "MOD" => "model",
        "PRM" => "prompts",
        "LIN" => "lineage",
        "POL" => "policy",
        "BOM" => "aibom",
        _ => "general",
    }
}

fn descriptor(rule: Rule) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_string(),
        json!(security_severity(rule.default_severity())),
    );
    props.insert("precision".to_string(), json!("high"));
    props.insert(
        "problem.severity".to_string(),
        json!(level_name(rule.default_severity())),
    );
    ReportingDescriptor::builder()
        .id(rule.id())
        .name(pascal(rule.name()))
        .short_description(markdown(rule.summary(), rule.summary().to_string()))
        .full_description(markdown(rule.doc(), rule.doc().to_string()))
        .help(markdown(
            &format!("{}\n\nExample: {}\n\nFix: {}", rule.doc(), rule.example(), rule.fix()),
            format!(
                "{}\n\n**Example:** {}\n\n**Fix:** {}",
                rule.doc(),
                rule.example(),
                rule.fix()
            ),
        ))
        .help_uri(rule.help_uri())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(rule.default_severity())))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec!["security".to_string(), family(rule).to_string()])
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// SARIF rule names are conventionally PascalCase identifiers.
fn pascal(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn result(report: &Report, f: &Finding) -> SarifResult {
    let uri = report.uri_of(&f.path);
    let in_members = f.location.members.is_empty();
    let mut message = f.message.clone();
    if let Some(chain) = f.location.member_chain() {
        message = format!("{message} (in archive member `{chain}`)");
    }
    if !message.ends_with('.') {
        message.push('.');
    }
    let region = match (in_members, f.location.line, f.location.byte_offset) {
        (_, Some(line), _) => Some(Region {
            start_line: Some(line.into()),
            start_column: f.location.column.map(Into::into),
            end_line: f.location.end_line.map(Into::into),
            end_column: f.location.end_column.map(Into::into),
            ..Region::default()
        }),
        (true, None, Some(offset)) => Some(Region {
            byte_offset: i64::try_from(offset).ok(),
            byte_length: Some(f.location.byte_length.and_then(|l| i64::try_from(l).ok()).unwrap_or(1)),
            ..Region::default()
        }),
        // A finding about the whole file, or inside an archive member (whose offsets are not
        // offsets into the file and go to the properties): the region is the whole file.
        _ => {
            let size = report.artifacts.iter().find(|a| a.path == f.path).map_or(0, |a| a.size);
            Some(Region {
                byte_offset: Some(0),
                byte_length: i64::try_from(size).ok(),
                ..Region::default()
            })
        }
    };
    let mut props = BTreeMap::new();
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    if !f.location.members.is_empty() {
        props.insert("members".to_string(), json!(f.location.members));
        if let Some(o) = f.location.byte_offset {
            props.insert("member_byte_offset".to_string(), json!(o));
        }
    }
    if let Some(e) = &f.evidence {
        props.insert("evidence".to_string(), json!(e));
    }
    let rule_index = Rule::ALL
        .iter()
        .position(|r| *r == f.rule)
        .and_then(|i| i64::try_from(i).ok());
    let location = Location::builder()
        .physical_location(PhysicalLocation {
            artifact_location: Some(ArtifactLocation {
                uri: Some(uri),
                uri_base_id: Some(SRCROOT.to_string()),
                ..ArtifactLocation::default()
            }),
            region,
            ..PhysicalLocation::default()
        })
        .build();
    let mut result = SarifResult::builder()
        .rule_id(f.rule.id())
        .level(level(f.severity))
        .message(text(message))
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            "llmguardFingerprint/v1".to_string(),
            f.fingerprint(),
        )]))
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    result.rule_index = rule_index;
    if let Some(sup) = &f.suppression {
        // A comment in the file is `inSource`; configuration and baseline live outside it.
        let kind = match sup.kind {
            SuppressionKind::Inline => "inSource",
            SuppressionKind::Config | SuppressionKind::Baseline => "external",
        };
        let mut props = BTreeMap::new();
        props.insert("llmguardKind".to_string(), json!(sup.kind));
        result.suppressions = Some(vec![Suppression {
            guid: None,
            justification: Some(sup.reason.clone()),
            kind: json!(kind),
            location: None,
            properties: Some(PropertyBag::builder().additional_properties(props).build()),
            status: Some(json!("accepted")),
        }]);
    }
    result
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let driver = ToolComponent::builder()
        .name("llmguard")
        .full_name(format!("llmguard {version}"))
        .version(version)
        .semantic_version(version)
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(Rule::ALL.iter().map(|r| descriptor(*r)).collect::<Vec<_>>())
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(report.findings.iter().map(|f| result(report, f)).collect::<Vec<_>>())
        .column_kind(json!("unicodeCodePoints"))
        .build();
    let log = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_shape() {
        let mut r = super::super::tests::sample();
        r.uris.insert("models/evil.pkl".into(), "sub/models/evil.pkl".into());
        let mut buf = Vec::new();
        render(&r, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Rule::ALL.len()
        );
        let results = run["results"].as_array().unwrap();
        let evil = results.iter().find(|x| x["ruleId"] == "MOD101").unwrap();
        assert_eq!(evil["level"], "error");
        let loc = &evil["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "sub/models/evil.pkl");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], SRCROOT);
        assert_eq!(loc["region"]["byteOffset"], 2);
        let member = results.iter().find(|x| x["ruleId"] == "MOD102").unwrap();
        assert_eq!(member["locations"][0]["physicalLocation"]["region"]["byteOffset"], 0);
        assert_eq!(member["locations"][0]["physicalLocation"]["region"]["byteLength"], 900);
        assert_eq!(member["properties"]["member_byte_offset"], 40);
        let idx = evil["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "MOD101");
        assert_eq!(
            run["tool"]["driver"]["rules"][idx]["properties"]["security-severity"],
            "8.0"
        );
    }
}
