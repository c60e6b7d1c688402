//! Keras rule data: the layer classes and modules a Keras configuration may name.

use super::RulesError;

#[derive(Debug)]
pub struct KerasPolicy {}

impl KerasPolicy {
    pub fn builtin() -> Result<KerasPolicy, RulesError> {
        Ok(KerasPolicy {})
    }
}
