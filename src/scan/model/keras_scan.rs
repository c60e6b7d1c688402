//! Keras: HDF5 models (`model_config`, `training_config`) and `.keras` v3 zips.

use super::{Cx, ModelFormat};
use crate::model::source::Source;
use crate::model::zip;

impl Cx<'_> {
    /// An HDF5 file.
    pub(super) fn hdf5(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        let _ = (src, members, depth);
        ModelFormat::Hdf5
    }

    /// The `config.json` and `metadata.json` of a Keras v3 `.keras` zip (its members are also
    /// scanned one by one by the zip walker).
    pub(super) fn keras_v3(&mut self, src: &dyn Source, archive: &zip::Archive, members: &[String]) {
        let _ = (src, archive, members);
    }
}
