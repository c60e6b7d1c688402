//! Placeholder until the normaliser lands (same session).
