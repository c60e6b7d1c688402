//! Placeholder until the detector lands (same session).

use super::{Decoded, Hit};
use crate::rules::RulesError;

#[derive(Debug)]
pub struct HiddenDetector {}

impl HiddenDetector {
    pub fn builtin() -> Result<Self, RulesError> {
        Ok(HiddenDetector {})
    }

    pub fn scan(&self, _text: &str, _out: &mut Vec<Hit>, _decoded: &mut Vec<Decoded>) {}
}
