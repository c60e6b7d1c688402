//! Licence normalisation: the text a metadata file writes (`cc-by-4.0`, `MIT OR apache-2.0`,
//! `https://creativecommons.org/licenses/by-nc/4.0/`) to a canonical SPDX expression, with
//! the `spdx` crate's list and parser. Ids are matched case-insensitively because the Hugging
//! Face Hub writes them in lower case; deprecated ids are kept and listed.

use super::spec::{LineageRules, Restriction};
use super::License;

/// A canonical SPDX license id for `name`, case-insensitively (a trailing `+` kept).
fn license_id(name: &str) -> Option<String> {
    let (base, plus) = match name.strip_suffix('+') {
        Some(b) => (b, "+"),
        None => (name, ""),
    };
    if let Some(id) = spdx::license_id(base) {
        return Some(format!("{}{plus}", id.name));
    }
    spdx::identifiers::LICENSES
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(base))
        .map(|l| format!("{}{plus}", l.name))
}

fn exception_id(name: &str) -> Option<&'static str> {
    spdx::identifiers::EXCEPTIONS
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .map(|e| e.name)
}

/// `text` with every id and operator in canonical case; `None` when a token is not an SPDX
/// id, an exception, an operator or a `LicenseRef-`.
fn canonical(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut after_with = false;
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    for tok in spaced.split_whitespace() {
        let canon = match tok {
            "(" | ")" => tok.to_string(),
            t if t.eq_ignore_ascii_case("and") => "AND".into(),
            t if t.eq_ignore_ascii_case("or") => "OR".into(),
            t if t.eq_ignore_ascii_case("with") => {
                after_with = true;
                out.push_str(" WITH");
                continue;
            }
            t if after_with => exception_id(t)?.to_string(),
            t if t.len() > 11 && t[..11].eq_ignore_ascii_case("licenseref-") => format!("LicenseRef-{}", &t[11..]),
            t if t.len() > 12 && t[..12].eq_ignore_ascii_case("documentref-") => t.to_string(),
            t => license_id(t)?,
        };
        after_with = false;
        if !out.is_empty() && canon != ")" && !out.ends_with('(') {
            out.push(' ');
        }
        out.push_str(&canon);
    }
    (!out.is_empty()).then_some(out)
}

/// The SPDX id whose full name `text` is, compared on letters and digits only
/// ("Creative Commons Attribution-ShareAlike 4.0 International" is `CC-BY-SA-4.0`, "MIT
/// License" is `MIT`); a current id is preferred to a deprecated one of the same name.
fn from_full_name(text: &str) -> Option<String> {
    let key = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(|c| c.to_lowercase())
            .collect()
    };
    let want = key(text.trim().trim_end_matches('.'));
    if want.len() < 3 {
        return None;
    }
    let mut hits = spdx::identifiers::LICENSES.iter().filter(|l| key(l.full_name) == want);
    let all: Vec<_> = hits.by_ref().collect();
    all.iter()
        .find(|l| !spdx::license_id(l.name).is_some_and(|id| id.is_deprecated()))
        .or(all.first())
        .map(|l| l.name.to_string())
}

const MODE: spdx::ParseMode = spdx::ParseMode {
    allow_slash_as_or_operator: false,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

/// The SPDX id a licence URL stands for (Creative Commons, spdx.org, opensource.org, Apache).
fn from_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    let host = url.host_str()?.trim_start_matches("www.").to_ascii_lowercase();
    let parts: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match (host.as_str(), parts.as_slice()) {
        ("creativecommons.org", ["licenses", code, ver, ..]) => license_id(&format!("CC-{code}-{ver}")),
        ("creativecommons.org", ["publicdomain", "zero", ver, ..]) => license_id(&format!("CC0-{ver}")),
        ("spdx.org", ["licenses", id, ..]) => license_id(id.trim_end_matches(".html").trim_end_matches(".json")),
        ("opensource.org", ["licenses" | "license", id, ..]) => license_id(id.trim_end_matches(".php")),
        ("apache.org", ["licenses", v, ..]) if v.eq_ignore_ascii_case("LICENSE-2.0") => Some("Apache-2.0".into()),
        _ => None,
    }
}

/// The licence id of a choosealicense.com URL (`https://choosealicense.com/licenses/odc-by/`,
/// what the Hugging Face Hub's Croissant export writes): the Hub's lower-case id.
fn choosealicense_id(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    let host = url.host_str()?.trim_start_matches("www.").to_ascii_lowercase();
    let parts: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match (host.as_str(), parts.as_slice()) {
        ("choosealicense.com", ["licenses" | "license", id, ..]) => Some((*id).to_string()),
        _ => None,
    }
}

/// Read a licence as written.
pub fn normalise(raw: &str, rules: &LineageRules) -> License {
    let text = raw.trim();
    if let Some(id) = choosealicense_id(text) {
        let mut lic = normalise(&id, rules);
        lic.raw = text.to_string();
        return lic;
    }
    let mut lic = License {
        raw: text.to_string(),
        spdx: None,
        hub_id: None,
        private: None,
        deprecated: Vec::new(),
    };
    if let Some(t) = rules.private_term(text) {
        lic.private = Some(t.to_string());
        return lic;
    }
    let candidate = if text.starts_with("http://") || text.starts_with("https://") {
        from_url(text)
    } else if let Some(h) = rules.hub_license(text) {
        lic.hub_id = Some(h.id.clone());
        h.spdx.clone()
    } else {
        canonical(text).or_else(|| from_full_name(text))
    };
    if let Some(c) = candidate {
        if let Ok(expr) = spdx::Expression::parse_mode(&c, MODE) {
            // Ids as written: the parser reads `GPL-2.0+` as `GPL-2.0-or-later`, but the SPDX
            // list deprecates the `+` forms of the GNU ids.
            for tok in c.split(|ch: char| ch.is_whitespace() || ch == '(' || ch == ')') {
                if spdx::license_id(tok).is_some_and(|id| id.is_deprecated())
                    && !lic.deprecated.iter().any(|d| d == tok)
                {
                    lic.deprecated.push(tok.to_string());
                }
            }
            for r in expr.requirements() {
                if let Some(id) = r.req.license.id() {
                    let plus = format!("{}+", id.name);
                    if id.is_deprecated() && !lic.deprecated.iter().any(|d| d == id.name || *d == plus) {
                        lic.deprecated.push(id.name.to_string());
                    }
                }
            }
            lic.spdx = Some(c);
        }
    }
    lic
}

/// What to write instead of the deprecated SPDX id `id`.
pub fn replacement(id: &str, rules: &LineageRules) -> String {
    if let Some(r) = rules.deprecated_replacements.get(id) {
        return format!("`{id}` → `{r}`");
    }
    let gnu = ["GPL-", "LGPL-", "AGPL-", "GFDL-"].iter().any(|p| id.starts_with(p));
    match (gnu, id.strip_suffix('+')) {
        (true, Some(base)) => format!("`{id}` → `{base}-or-later`"),
        (true, None) => format!("`{id}` → `{id}-only` or `{id}-or-later`"),
        (false, _) => format!("`{id}` → its replacement in the SPDX list (https://spdx.org/licenses/)"),
    }
}

/// Whether `lic` is subject to restriction `r` whatever choice its `OR`s allow.
pub fn restricted(lic: &License, r: Restriction, rules: &LineageRules) -> bool {
    if let Some(h) = lic.hub_id.as_deref().and_then(|h| rules.hub_license(h)) {
        if h.restrictions.contains(&r) {
            return true;
        }
    }
    let Some(text) = &lic.spdx else { return false };
    let Ok(expr) = spdx::Expression::parse_mode(text, MODE) else {
        return false;
    };
    // Some choice avoids the restriction when the expression holds with only unrestricted terms.
    !expr.evaluate(|req| {
        let name = match &req.license {
            spdx::LicenseItem::Spdx { id, .. } => id.name.to_string(),
            spdx::LicenseItem::Other(r) => format!("LicenseRef-{}", r.lic_ref),
        };
        !rules.restrictions(&name).iter().any(|(x, _)| *x == r)
    })
}

/// Whether the licence needs an explicit approval because nobody can judge it automatically:
/// `other`, `unknown`, a `LicenseRef-`, or a Hub id that is not SPDX.
pub fn needs_approval(lic: &License) -> bool {
    lic.private.is_some()
        || lic.hub_id.is_some() && lic.spdx.is_none()
        || lic.spdx.as_deref().is_some_and(|s| s.contains("LicenseRef-"))
}

/// Whether two licences say the same (canonical SPDX, else the raw text ignoring case).
pub fn same(a: &License, b: &License) -> bool {
    if let (Some(x), Some(y)) = (&a.private, &b.private) {
        return x == y;
    }
    match (&a.spdx, &b.spdx) {
        (Some(x), Some(y)) => x == y,
        _ => a.raw.eq_ignore_ascii_case(&b.raw),
    }
}

/// Whether the licence is on an approved list (entries compared canonically).
pub fn approved(lic: &License, list: &[String], rules: &LineageRules) -> bool {
    list.iter().any(|entry| same(lic, &normalise(entry, rules)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> License {
        normalise(s, LineageRules::shared())
    }

    #[test]
    fn deprecated_plus_forms_and_their_replacements() {
        let rules = LineageRules::shared();
        for (text, ids, advice) in [
            ("GPL-2.0+", vec!["GPL-2.0+"], "`GPL-2.0+` → `GPL-2.0-or-later`"),
            ("lgpl-2.1+", vec!["LGPL-2.1+"], "`LGPL-2.1+` → `LGPL-2.1-or-later`"),
            ("MIT OR GPL-3.0+", vec!["GPL-3.0+"], "`GPL-3.0+` → `GPL-3.0-or-later`"),
            (
                "GPL-3.0",
                vec!["GPL-3.0"],
                "`GPL-3.0` → `GPL-3.0-only` or `GPL-3.0-or-later`",
            ),
            (
                "wxWindows",
                vec!["wxWindows"],
                "`wxWindows` → `GPL-2.0-or-later WITH WxWindows-exception-3.1`",
            ),
            (
                "BSD-2-Clause-FreeBSD",
                vec!["BSD-2-Clause-FreeBSD"],
                "`BSD-2-Clause-FreeBSD` → `BSD-2-Clause`",
            ),
        ] {
            let l = normalise(text, rules);
            assert_eq!(l.deprecated, ids, "{text}");
            assert_eq!(replacement(&l.deprecated[0], rules), advice, "{text}");
        }
        assert!(normalise("GPL-2.0-or-later", rules).deprecated.is_empty());
        assert!(normalise("Apache-2.0", rules).deprecated.is_empty());
    }

    #[test]
    fn normalises_case_urls_and_deprecated_ids() {
        assert_eq!(n("cc-by-4.0").spdx.as_deref(), Some("CC-BY-4.0"));
        assert_eq!(n("mit or apache-2.0").spdx.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(
            n("(MIT AND bsd-3-clause)").spdx.as_deref(),
            Some("(MIT AND BSD-3-Clause)")
        );
        assert_eq!(
            n("https://creativecommons.org/licenses/by-nc-sa/4.0/").spdx.as_deref(),
            Some("CC-BY-NC-SA-4.0")
        );
        assert_eq!(n("https://spdx.org/licenses/MIT.html").spdx.as_deref(), Some("MIT"));
        let g = n("gpl-3.0");
        assert_eq!(g.spdx.as_deref(), Some("GPL-3.0"));
        assert_eq!(g.deprecated, vec!["GPL-3.0"]);
        assert_eq!(
            n("Apache-2.0 WITH llvm-exception").spdx.as_deref(),
            Some("Apache-2.0 WITH LLVM-exception")
        );
        assert!(n("Creative Commons").spdx.is_none());
        let o = n("other");
        assert!(o.spdx.is_none() && o.hub_id.as_deref() == Some("other") && needs_approval(&o));
        assert!(needs_approval(&n("LicenseRef-acme-internal")));
        assert!(!needs_approval(&n("MIT")));
        // Enterprise metadata's words for a non-public licence: known, approval needed.
        let p = n("Proprietary");
        assert!(p.private.is_some() && p.spdx.is_none() && needs_approval(&p));
        assert!(n("internal-use-only").private.is_some());
        // The Hub's Croissant export writes choosealicense.com URLs of its licence ids.
        let c = n("https://choosealicense.com/licenses/odc-by/");
        assert_eq!(c.spdx.as_deref(), Some("ODC-By-1.0"));
        assert_eq!(c.raw, "https://choosealicense.com/licenses/odc-by/");
        assert_eq!(
            n("https://choosealicense.com/licenses/cc-by-nc-4.0/").spdx.as_deref(),
            Some("CC-BY-NC-4.0")
        );
        assert!(needs_approval(&n("https://choosealicense.com/licenses/other/")));
        // Full SPDX names, as prose writes them.
        assert_eq!(
            n("Creative Commons Attribution-ShareAlike 4.0 International.")
                .spdx
                .as_deref(),
            Some("CC-BY-SA-4.0")
        );
        assert_eq!(n("MIT License").spdx.as_deref(), Some("MIT"));
        assert_eq!(
            n("GNU General Public License v3.0 only").spdx.as_deref(),
            Some("GPL-3.0-only")
        );
    }

    /// Every licence id the Hugging Face Hub offers for a repository (its documentation's
    /// list) is understood: an SPDX id, or a Hub id that is not one.
    #[test]
    fn every_hub_licence_id_is_known() {
        for id in [
            "apache-2.0",
            "mit",
            "openrail",
            "bigscience-openrail-m",
            "creativeml-openrail-m",
            "bigscience-bloom-rail-1.0",
            "bigcode-openrail-m",
            "afl-3.0",
            "artistic-2.0",
            "bsl-1.0",
            "bsd",
            "bsd-2-clause",
            "bsd-3-clause",
            "bsd-3-clause-clear",
            "c-uda",
            "cc",
            "cc0-1.0",
            "cc-by-2.0",
            "cc-by-2.5",
            "cc-by-3.0",
            "cc-by-4.0",
            "cc-by-sa-3.0",
            "cc-by-sa-4.0",
            "cc-by-nc-2.0",
            "cc-by-nc-3.0",
            "cc-by-nc-4.0",
            "cc-by-nd-4.0",
            "cc-by-nc-nd-3.0",
            "cc-by-nc-nd-4.0",
            "cc-by-nc-sa-2.0",
            "cc-by-nc-sa-3.0",
            "cc-by-nc-sa-4.0",
            "cdla-sharing-1.0",
            "cdla-permissive-1.0",
            "cdla-permissive-2.0",
            "wtfpl",
            "ecl-2.0",
            "epl-1.0",
            "epl-2.0",
            "etalab-2.0",
            "eupl-1.1",
            "eupl-1.2",
            "agpl-3.0",
            "gfdl",
            "gpl",
            "gpl-2.0",
            "gpl-3.0",
            "lgpl",
            "lgpl-2.1",
            "lgpl-3.0",
            "isc",
            "h-research",
            "intel-research",
            "lppl-1.3c",
            "ms-pl",
            "apple-ascl",
            "apple-amlr",
            "mpl-2.0",
            "odc-by",
            "odbl",
            "openmdw-1.0",
            "openrail++",
            "osl-3.0",
            "postgresql",
            "ofl-1.1",
            "ncsa",
            "unlicense",
            "zlib",
            "pddl",
            "lgpl-lr",
            "deepfloyd-if-license",
            "fair-noncommercial-research-license",
            "llama2",
            "llama3",
            "llama3.1",
            "llama3.2",
            "llama3.3",
            "llama4",
            "gemma",
            "unknown",
            "other",
        ] {
            let l = n(id);
            assert!(l.spdx.is_some() || l.hub_id.is_some(), "{id}: {l:?}");
        }
        let r = LineageRules::shared();
        assert!(restricted(&n("odbl"), Restriction::ShareAlike, r));
        assert!(restricted(
            &n("fair-noncommercial-research-license"),
            Restriction::NonCommercial,
            r
        ));
    }

    #[test]
    fn restrictions_respect_or() {
        let r = LineageRules::shared();
        assert!(restricted(&n("CC-BY-NC-4.0"), Restriction::NonCommercial, r));
        assert!(!restricted(&n("CC-BY-NC-4.0 OR MIT"), Restriction::NonCommercial, r));
        assert!(restricted(&n("CC-BY-NC-4.0 AND MIT"), Restriction::NonCommercial, r));
        assert!(restricted(&n("cc-by-sa-4.0"), Restriction::ShareAlike, r));
        assert!(!restricted(&n("CC-BY-4.0"), Restriction::ShareAlike, r));
        assert!(restricted(&n("c-uda"), Restriction::NonCommercial, r));
        assert!(same(&n("cc-by-4.0"), &n("CC-BY-4.0")));
        assert!(approved(&n("mit"), &["MIT".into()], r));
    }
}
