//! ONNX models: the `ModelProto` protobuf.

/// Whether a blob starts like a serialised `ModelProto`: protobuf has no magic, but `onnx.save`
/// writes `ir_version` (field 1, a small varint) first, followed by another top-level field.
pub fn identify(head: &[u8]) -> bool {
    matches!(
        head,
        [
            0x08,
            1..=0x20,
            0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42 | 0x72,
            ..
        ]
    )
}
