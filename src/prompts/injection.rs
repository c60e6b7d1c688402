//! Placeholder until the detector lands (same session).

use super::Hit;
use crate::rules::RulesError;

#[derive(Debug)]
pub struct InjectionDetector {}

impl InjectionDetector {
    pub fn builtin() -> Result<Self, RulesError> {
        Ok(InjectionDetector {})
    }

    pub fn scan(&self, _text: &str, _out: &mut Vec<Hit>) {}
}
