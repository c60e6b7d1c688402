//! Pickles hidden in strings (metadata values, JSON configs, pickle string constants): report
//! where, then scan the decoded payload like an archive member.

use super::{chain, Cx};
use crate::model::encoded;
use crate::rules::Rule;

/// Largest decoded payload scanned from one string.
const HIDDEN_LIMIT: u64 = 64 << 20;

impl Cx<'_> {
    /// Look for a payload in `text` (found at `place`, e.g. "`__metadata__.config`"); returns
    /// whether one was found.
    pub(super) fn hidden_in(
        &mut self,
        text: &[u8],
        place: &str,
        members: &[String],
        offset: Option<u64>,
        depth: usize,
    ) -> bool {
        let Some(hidden) = encoded::find(text, HIDDEN_LIMIT) else {
            return false;
        };
        let how = hidden.describe();
        let what = if hidden.zip {
            "a zip archive (a PyTorch checkpoint)"
        } else {
            "a pickle"
        };
        self.push(
            Rule::PickleEncodedInString,
            members,
            offset,
            format!(
                "{place} holds {what}, {how}-encoded ({} bytes decoded); the decoded bytes were scanned too",
                hidden.bytes.len()
            ),
            format!("hidden:{place}"),
        );
        if depth >= self.limits.max_depth {
            self.too_deep(members);
            return true;
        }
        let inner = chain(members, format!("({how} in {})", place.replace('`', "")));
        self.random_checked(&hidden.bytes, &inner, depth + 1, None);
        true
    }
}
