//! ONNX: external-data paths and operator domains.

use super::{Cx, ModelFormat};
use crate::model::source::Source;

impl Cx<'_> {
    pub(super) fn onnx(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        let _ = (src, members, depth);
        ModelFormat::Onnx
    }
}
