//! Pickle streams: imports judged against the allow/deny lists, calls, and stream problems.

use super::{Cx, ModelFormat, Opener};
use crate::model::pickle::{self, Callee, PickleFile, StreamError, Target as ImportTarget};
use crate::model::source::Crc;
use crate::model::Magic;
use crate::rules::pickle::Judgement;
use crate::rules::Rule;
use std::collections::BTreeMap;
use std::io::Read;

impl Cx<'_> {
    /// Parse every pickle stream; report them when the data is a pickle at all. Returns the
    /// format, if it is one, and where non-pickle bytes after the last stream begin.
    pub(super) fn pickle(
        &mut self,
        open: &Opener<'_>,
        len: Option<u64>,
        members: &[String],
        crc: Option<u32>,
        depth: usize,
    ) -> (Option<ModelFormat>, Option<u64>) {
        let mut reader = Crc::new(open());
        let mut pf = pickle::parse_file(&mut reader, len, &self.limits.pickle);
        // A stream that starts with a PROTO header and breaks at once is still a pickle when a
        // whole stream hides behind the break.
        let proto = pf.streams.first().is_some_and(|s| s.protocol.is_some() && s.start == 0);
        let salvaged = match pf.salvage_from() {
            Some(from) if pf.is_pickle() || proto => self.salvage(open, from, members, pf.is_pickle()),
            _ => Vec::new(),
        };
        if !pf.is_pickle() && salvaged.is_empty() {
            return (None, None);
        }
        pf.streams.extend(salvaged);
        if let Some(expected) = crc {
            // Read what the parser left, so the CRC covers the whole member.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            let actual = reader.finish();
            if actual != expected && self.budget.tripped().is_none() {
                self.push(
                    Rule::ZipCrcMismatch,
                    members,
                    None,
                    format!("CRC-32 of the member is {actual:08x}, the archive records {expected:08x}: the bytes changed after the archive was written"),
                    "crc",
                );
            }
        }
        self.report_pickle(&pf, members, 0, depth);
        let format = if pf.legacy_torch {
            ModelFormat::PytorchLegacy
        } else if pf.streams.iter().any(|s| s.joblib_arrays > 0) {
            ModelFormat::Joblib
        } else {
            ModelFormat::Pickle
        };
        (Some(format), pf.trailing.map(|(o, _)| o))
    }

    /// Pickle streams hidden in the bytes from `from` on, which a loader reading the file from
    /// its start never reaches (see `pickle::salvage`). A zip, archive or compressed layer there
    /// is left to the polyglot check.
    fn salvage(&mut self, open: &Opener<'_>, from: u64, members: &[String], is_pickle: bool) -> Vec<pickle::Stream> {
        let mut r = open();
        if std::io::copy(&mut (&mut r).take(from), &mut std::io::sink()).ok() != Some(from) {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if r.take(pickle::SALVAGE_MAX).read_to_end(&mut bytes).is_err() && bytes.is_empty() {
            return Vec::new();
        }
        if !matches!(crate::model::sniff(&bytes), Magic::Other | Magic::PickleLike) {
            return Vec::new();
        }
        let (found, stopped) = pickle::salvage(&bytes, from, &self.limits.pickle);
        // Only for a pickle, and low: the bound is that of a heuristic search (random data
        // after a stream has many places that look like a stream start), not of the parse.
        if stopped && is_pickle {
            let f = self.push(
                Rule::ResourceLimit,
                members,
                Some(from),
                "the search for pickle streams hidden behind the break stopped at its bound; later bytes were not searched".to_string(),
                "salvage",
            );
            f.severity = crate::finding::Severity::Low;
        }
        found
    }

    /// Turn what the pickle machine saw into findings, one per distinct import, call target
    /// or problem in the file (every stream together), at the first place it occurs.
    pub(super) fn report_pickle(&mut self, pf: &PickleFile, members: &[String], base: u64, depth: usize) {
        #[derive(Default)]
        struct Use {
            offset: u64,
            count: usize,
            called: bool,
            argument: Option<String>,
        }
        let mut uses: BTreeMap<(String, String), Use> = BTreeMap::new();
        let mut opaque: BTreeMap<String, (u64, usize)> = BTreeMap::new();
        for s in &pf.streams {
            for imp in &s.imports {
                match &imp.target {
                    ImportTarget::Resolved { module, name } => {
                        let u = uses.entry((module.clone(), name.clone())).or_insert_with(|| Use {
                            offset: imp.offset,
                            ..Use::default()
                        });
                        u.count += 1;
                    }
                    ImportTarget::Unresolved { reason } => {
                        self.push(
                            Rule::PickleUnresolvedGlobal,
                            members,
                            Some(base + imp.offset),
                            format!(
                                "{} imports a global that cannot be determined statically: {reason}",
                                imp.opcode
                            ),
                            format!("unresolved:{reason}"),
                        );
                    }
                }
            }
            for c in &s.calls {
                match &c.callee {
                    Callee::Import(i) => {
                        if let Some((m, n)) = s.import_name(*i) {
                            if let Some(u) = uses.get_mut(&(m.to_string(), n.to_string())) {
                                u.called |= c.opcode != "BUILD";
                                if u.argument.is_none() {
                                    u.argument.clone_from(&c.argument);
                                }
                            }
                        }
                    }
                    Callee::Extension(_) => {}
                    Callee::Opaque(what) => {
                        let e = opaque.entry(what.clone()).or_insert((c.offset, 0));
                        e.1 += 1 + c.repeats as usize;
                    }
                }
            }
            for (offset, code) in &s.extensions {
                self.push(
                    Rule::PickleExtensionCode,
                    members,
                    Some(base + offset),
                    format!("uses copyreg extension code {code}, which names a global through a registry the file cannot be judged by"),
                    format!("ext:{code}"),
                );
            }
            let foreign: Vec<_> = s.persistent_ids.iter().filter(|p| !p.torch_convention).collect();
            if let Some(first) = foreign.first() {
                self.push(
                    Rule::PicklePersistentId,
                    members,
                    Some(base + first.offset),
                    format!(
                        "{} hands {} to the loader's persistent_load ({} persistent id{} outside PyTorch's storage convention)",
                        first.opcode,
                        first.description,
                        foreign.len(),
                        if foreign.len() == 1 { "" } else { "s" }
                    ),
                    "persid",
                );
            }
            for m in &s.mutations {
                let target = s
                    .import_name(m.import)
                    .map(|(a, b)| format!("{a}.{b}"))
                    .unwrap_or_else(|| "an unresolved import".into());
                self.push(
                    Rule::PickleGlobalMutation,
                    members,
                    Some(base + m.offset),
                    format!(
                        "{} applied to the imported object `{target}` itself changes it in place while loading",
                        m.opcode
                    ),
                    format!("mutate:{target}"),
                );
            }
            self.stream_error(s, members, base);
        }
        for (what, (offset, count)) in opaque {
            self.push(
                Rule::PickleOpaqueCall,
                members,
                Some(base + offset),
                format!(
                    "calls {what}, not a resolved import ({count} time{})",
                    if count == 1 { "" } else { "s" }
                ),
                format!("opaque:{what}"),
            );
        }
        for ((module, name), u) in uses {
            self.judge_import(&module, &name, &u.argument, u.called, u.count, members, base + u.offset);
        }
        for s in &pf.streams {
            for (offset, bytes) in &s.blobs {
                let at = base + offset;
                self.hidden_in(bytes, &format!("the string at byte {at}"), members, Some(at), depth);
            }
        }
        if let Some(hidden) = pf.streams.iter().find(|s| s.salvaged) {
            self.push(
                Rule::PickleMultipleStreams,
                members,
                Some(base + hidden.start),
                format!(
                    "a pickle stream hides at byte {} behind bytes a loader stops at (an invalid opcode or data that is not a pickle); it was scanned anyway",
                    base + hidden.start
                ),
                "salvaged",
            );
        }
        let top: Vec<_> = pf.streams.iter().filter(|s| !s.nested && !s.salvaged).collect();
        if top.len() > 1 && !pf.legacy_torch {
            self.push(
                Rule::PickleMultipleStreams,
                members,
                Some(base + top[1].start),
                format!(
                    "{} pickle streams one after another; the second starts at byte {}",
                    top.len(),
                    base + top[1].start
                ),
                "streams",
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn judge_import(
        &mut self,
        module: &str,
        name: &str,
        argument: &Option<String>,
        called: bool,
        count: usize,
        members: &[String],
        offset: u64,
    ) {
        let full = format!("{module}.{name}");
        let how = match (called, argument) {
            (true, Some(a)) => format!(" and calls it with {:?}", crate::finding::truncate(a, 80)),
            (true, None) => " and calls it".to_string(),
            (false, _) => String::new(),
        };
        let times = if count > 1 {
            format!(" ({count} imports)")
        } else {
            String::new()
        };
        let evidence = match argument {
            Some(a) if called => format!("{full}({:?})", crate::finding::truncate(a, 60)),
            _ => full.clone(),
        };
        match self.rules.pickle.judge(module, name) {
            Judgement::Allowed => {}
            Judgement::Denied {
                severity,
                reason,
                matched,
            } => {
                let via = if matched == full {
                    String::new()
                } else {
                    format!(", which reaches `{matched}`")
                };
                let f = self.push(
                    Rule::PickleDangerousImport,
                    members,
                    Some(offset),
                    format!("imports `{full}`{via}{how}{times}: {reason}"),
                    full.clone(),
                );
                f.severity = severity;
                f.evidence = Some(crate::finding::truncate(&evidence, 160));
            }
            Judgement::Unknown => {
                let origin = if module == "__main__" {
                    " (a class or function defined in the script that saved the file)"
                } else {
                    ""
                };
                let f = self.push(
                    Rule::PickleUnknownImport,
                    members,
                    Some(offset),
                    format!(
                        "imports `{full}`{origin}{how}{times}, which is on neither the allow list nor the deny list"
                    ),
                    full.clone(),
                );
                f.evidence = Some(crate::finding::truncate(&evidence, 160));
            }
        }
    }

    pub(super) fn stream_error(&mut self, s: &pickle::Stream, members: &[String], base: u64) {
        if let Some(at) = s.memo_overflow {
            self.push(
                Rule::ResourceLimit,
                members,
                Some(base + at),
                format!(
                    "pickle memo grew past {} entries; later entries were not tracked",
                    self.limits.pickle.max_memo
                ),
                "memo",
            );
        }
        match &s.error {
            None => {}
            Some(StreamError::Malformed { offset, message }) => {
                let carried = if s.stopped {
                    " (the analysis carried on past it)"
                } else {
                    ""
                };
                self.push(
                    Rule::PickleMalformed,
                    members,
                    Some(base + offset),
                    format!("malformed pickle: {message}{carried}"),
                    "malformed",
                );
            }
            Some(StreamError::Limit { offset, message }) => {
                self.push(
                    Rule::ResourceLimit,
                    members,
                    Some(base + offset),
                    format!("pickle analysis stopped: {message}"),
                    "pickle-limit",
                );
            }
            Some(StreamError::JoblibArray { offset, message }) => {
                self.push(
                    Rule::JoblibUnknownArray,
                    members,
                    Some(base + offset),
                    format!("{message}; the opcodes after this array were not analysed"),
                    "joblib",
                );
            }
        }
    }
}
