//! The human table: one row per finding, then the summary line.

use super::Report;
use crate::finding::{Finding, Severity};
use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use std::io::Write;

fn colour_of(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Magenta,
        Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Cyan,
        Severity::Info => Color::Grey,
    }
}

/// `path`, then `!/member` for each archive level, then `@offset` or `:line:col`.
pub fn where_of(f: &Finding) -> String {
    let mut s = f.path.clone();
    for m in &f.location.members {
        s.push_str("!/");
        s.push_str(m);
    }
    if let Some(o) = &f.location.object {
        s.push_str(&format!(" [{o}]"));
    }
    if let Some(line) = f.location.line {
        s.push_str(&format!(":{line}"));
        if let Some(c) = f.location.column {
            s.push_str(&format!(":{c}"));
        }
    } else if let Some(o) = f.location.byte_offset {
        s.push_str(&format!(" @{o}"));
    }
    match (f.location.record, &f.location.key_path) {
        (Some(r), Some(k)) => s.push_str(&format!(" [record {r} {k}]")),
        (Some(r), None) => s.push_str(&format!(" [record {r}]")),
        (None, Some(k)) => s.push_str(&format!(" [{k}]")),
        (None, None) => {}
    }
    s
}

/// An empty table in the house style. Piped (`colour` false), a fixed width keeps the output
/// identical from run to run and terminal to terminal.
fn new_table(colour: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !colour {
        table.force_no_tty();
    }
    let width = if colour {
        table.width().unwrap_or(140).max(100)
    } else {
        140
    };
    table.set_width(width);
    table
}

pub(super) fn render(report: &Report, colour: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if !report.inventory.is_empty() {
        let mut table = new_table(colour);
        table.set_header(vec!["Kind", "Name", "Version", "Licence", "Detail"]);
        for i in &report.inventory {
            table.add_row(vec![i.kind, &i.name, &i.version, &i.licence, &i.detail]);
        }
        writeln!(out, "{table}")?;
    }
    if !report.findings.is_empty() {
        let mut table = new_table(colour);
        table.set_header(vec!["Severity", "Rule", "Where", "Finding"]);
        for f in &report.findings {
            let mut sev = Cell::new(match &f.suppression {
                Some(_) => format!("{} (suppressed)", f.severity.as_str()),
                None => f.severity.as_str().to_string(),
            });
            if colour {
                sev = sev.fg(if f.suppression.is_some() {
                    Color::Grey
                } else {
                    colour_of(f.severity)
                });
            }
            let mut msg = f.message.clone();
            if let Some(s) = &f.suppression {
                msg.push_str(&format!("\n  suppressed: {}", s.reason));
            }
            if let Some(e) = &f.evidence {
                msg.push_str(&format!("\n  evidence: {e}"));
            }
            table.add_row(vec![
                sev,
                Cell::new(format!("{} {}", f.rule.id(), f.rule.name())),
                Cell::new(where_of(f)),
                Cell::new(msg),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    writeln!(out, "{}", report.summary_line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_snapshot() {
        let mut buf = Vec::new();
        render(&super::super::tests::sample(), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        insta::assert_snapshot!(text);
        assert!(text.contains("models/ckpt.pt!/ckpt/data.pkl @40"));
    }
}
