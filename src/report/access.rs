//! The effective-access matrix of `lint-policy --explain-access`: a document of its own (not a
//! findings report), rendered here next to the report renderers, as a table for people or JSON
//! for tools.

use super::Format;
use crate::policy::access::{Cell, RoleAccess};
use crate::policy::model::Act;
use crate::scan::policy::PolicyView;
use comfy_table::{presets, Table};
use serde::Serialize;
use std::io::Write;

/// Bumped on incompatible changes of the JSON shape.
pub const ACCESS_SCHEMA_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: &'static str,
    /// One entry per policy read.
    policies: Vec<DocPolicy<'a>>,
}

#[derive(Serialize)]
struct DocPolicy<'a> {
    path: &'a str,
    format: &'static str,
    roles: Vec<&'a RoleAccess>,
}

fn actions(cell: &Cell) -> String {
    Act::ALL
        .iter()
        .map(|a| {
            if cell.actions.contains_key(a) {
                a.letter()
            } else if cell.denied.contains(a) {
                'x'
            } else {
                '-'
            }
        })
        .collect()
}

fn notes(role: &RoleAccess, cell: &Cell) -> String {
    let mut n = Vec::new();
    let mut from: Vec<&str> = cell
        .actions
        .values()
        .flatten()
        .filter(|v| v.role != role.role)
        .map(|v| v.role.as_str())
        .collect();
    from.sort_unstable();
    from.dedup();
    if !from.is_empty() {
        n.push(format!("inherited from {}", from.join(", ")));
    }
    let mut via: Vec<String> = cell
        .actions
        .values()
        .flatten()
        .map(|v| format!("{}{}", v.resource, if v.wildcard { " (wildcard)" } else { "" }))
        .collect();
    via.sort();
    via.dedup();
    n.push(format!("via {}", via.join(", ")));
    if !cell.denied.is_empty() {
        let d: Vec<&str> = cell.denied.iter().map(|a| a.as_str()).collect();
        n.push(format!("denied by a dynamic rule: {}", d.join("/")));
    }
    if cell.conditional {
        n.push("conditional (dynamic rule)".into());
    }
    if cell.approval {
        n.push("requires approval".into());
    }
    n.join("; ")
}

/// Render the matrices of `views`, restricted to `role` when given.
pub fn render(views: &[PolicyView], role: Option<&str>, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    fn pick<'v>(v: &'v PolicyView, role: Option<&str>) -> Vec<&'v RoleAccess> {
        v.access
            .roles
            .iter()
            .filter(|r| role.is_none_or(|x| r.role == x))
            .collect()
    }
    match format {
        Format::Json => {
            let doc = Doc {
                schema_version: ACCESS_SCHEMA_VERSION,
                policies: views
                    .iter()
                    .map(|v| DocPolicy {
                        path: &v.path,
                        format: v.format.as_str(),
                        roles: pick(v, role),
                    })
                    .filter(|p| !p.roles.is_empty())
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            out.write_all(b"\n")
        }
        Format::Table | Format::Sarif => {
            for v in views {
                let roles = pick(v, role);
                if roles.is_empty() {
                    continue;
                }
                writeln!(out, "Effective access: {} ({})", v.path, v.format.as_str())?;
                let mut t = Table::new();
                t.load_preset(presets::UTF8_FULL_CONDENSED)
                    .force_no_tty()
                    .set_width(140);
                t.set_header(vec!["Role", "Collection", "Sensitivity", "RLCUDA", "How"]);
                for r in roles {
                    if r.collections.is_empty() && r.management.is_empty() {
                        t.add_row(vec![r.role.as_str(), "(nothing)", "", "------", ""]);
                    }
                    for (name, cell) in &r.collections {
                        t.add_row(vec![
                            r.role.clone(),
                            name.clone(),
                            cell.sensitivity.as_str().to_string(),
                            actions(cell),
                            notes(r, cell),
                        ]);
                    }
                    for g in &r.management {
                        t.add_row(vec![
                            r.role.clone(),
                            format!("[access control: {}]", g.what),
                            "-".into(),
                            "manage".into(),
                            if g.via.role == r.role {
                                format!("via {}", g.via.resource)
                            } else {
                                format!("inherited from {} via {}", g.via.role, g.via.resource)
                            },
                        ]);
                    }
                }
                writeln!(out, "{t}")?;
            }
            writeln!(
                out,
                "RLCUDA: read, list, create, update, delete, admin; a letter where granted, x where a dynamic deny removes it."
            )
        }
        Format::Cyclonedx => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "cyclonedx is the aibom document, not an access view format",
        )),
    }
}
