//! ONNX rule data: the operator domains that the standard runtimes implement.

use super::RulesError;

#[derive(Debug)]
pub struct OnnxPolicy {}

impl OnnxPolicy {
    pub fn builtin() -> Result<OnnxPolicy, RulesError> {
        Ok(OnnxPolicy {})
    }
}
