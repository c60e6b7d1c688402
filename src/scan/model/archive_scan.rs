//! Archives other than zip: tar (plain or under a compression layer) and 7z.

use super::{Cx, ModelFormat};
use crate::model::source::Source;

impl Cx<'_> {
    pub(super) fn tar(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        let _ = (src, members, depth);
        ModelFormat::Tar
    }

    pub(super) fn sevenz(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        let _ = (src, members, depth);
        ModelFormat::SevenZ
    }
}
