//! NumPy `.npy`: header problems and object arrays, whose pickle payload is scanned.

use super::{Cx, ModelFormat};
use crate::model::{input::Input, numpy, pickle};
use crate::rules::Rule;
use std::io::Read;

impl Cx<'_> {
    pub(super) fn npy(&mut self, reader: Box<dyn Read + '_>, members: &[String], depth: usize) -> ModelFormat {
        let mut input = Input::new(reader);
        let header = match numpy::read_header(&mut input) {
            Ok(h) => h,
            Err(e) => {
                self.push(
                    Rule::NumpyMalformed,
                    members,
                    Some(0),
                    format!("malformed .npy file: {e}"),
                    "header",
                );
                return ModelFormat::Numpy;
            }
        };
        if header.object {
            let shape: Vec<String> = header.shape.iter().map(u64::to_string).collect();
            self.push(
                Rule::NumpyObjectArray,
                members,
                Some(header.data_offset),
                format!(
                    "array of dtype `{}` and shape ({}) stores Python objects as a pickle; numpy.load needs allow_pickle=True to read it",
                    header.descr,
                    shape.join(", ")
                ),
                "object",
            );
            let pf = pickle::parse_file(&mut input, None, &self.limits.pickle);
            if pf.is_pickle() {
                self.report_pickle(&pf, members, header.data_offset, depth);
            } else {
                self.push(
                    Rule::PickleMalformed,
                    members,
                    Some(header.data_offset),
                    "object array payload is not a pickle".into(),
                    "payload",
                );
            }
        }
        ModelFormat::Numpy
    }
}
