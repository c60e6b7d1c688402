//! Pure parsers for model artifacts. They turn bytes into typed data, know nothing of rules,
//! never execute anything, and bound every allocation by what the input really holds.

pub mod encoded;
pub mod gguf;
pub mod h5;
pub mod input;
pub mod jinja;
pub mod keras;
pub mod numpy;
pub mod oms;
pub mod onnx;
pub mod pickle;
pub mod safetensors;
pub mod source;
pub mod zip;

/// What the first bytes of a blob say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Zip,
    Npy,
    /// llama.cpp's GGUF (`GGUF` magic).
    Gguf,
    Gzip,
    Zlib,
    Bzip2,
    Xz,
    /// The legacy `.lzma` ("LZMA alone") format that joblib's `compress='lzma'` writes.
    Lzma,
    Lz4,
    /// HDF5 (`\x89HDF\r\n\x1a\n`, at byte 0 or behind a 512-byte user block): Keras `.h5`.
    Hdf5,
    /// An ONNX `ModelProto` (protobuf has no magic: see `onnx::identify`).
    Onnx,
    /// A POSIX/GNU tar archive (`ustar` at byte 257).
    Tar,
    /// A 7-Zip archive.
    SevenZ,
    /// Starts like a pickle (a `PROTO` opcode, or a protocol-0/1 opcode a pickle can begin with).
    PickleLike,
    Other,
}

/// Whether `..` components take a relative path above its starting directory, with `/` and
/// `\` both separators (Windows loaders accept either).
pub fn climbs_out(location: &str) -> bool {
    let mut depth = 0i64;
    for part in location.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Identify a blob from its first bytes (at least 4 when it has them).
pub fn sniff(head: &[u8]) -> Magic {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Magic::Zip,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Magic::Npy,
        [b'G', b'G', b'U', b'F', ..] => Magic::Gguf,
        [0x1f, 0x8b, ..] => Magic::Gzip,
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Magic::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Magic::Xz,
        [0x5d, 0, 0, ..] => Magic::Lzma,
        [0x04, 0x22, 0x4d, 0x18, ..] => Magic::Lz4,
        [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n', ..] => Magic::Hdf5,
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => Magic::SevenZ,
        _ if head.get(512..520) == Some(HDF5_MAGIC) => Magic::Hdf5,
        _ if head.get(257..262) == Some(b"ustar") => Magic::Tar,
        _ if onnx::identify(head) => Magic::Onnx,
        [0x80, v, ..] if *v <= 5 => Magic::PickleLike,
        [0x78, b, ..] if (0x7800u16 | u16::from(*b)).is_multiple_of(31) => Magic::Zlib,
        // Every opcode a protocol 0/1 stream can start with (from protocol 2 on a stream starts
        // with PROTO): with any other first byte Python's unpickler fails at once too.
        [b'(' | b'c' | b']' | b'}' | b')' | b'N' | b'I' | b'L' | b'S' | b'V' | b'F' | b'G' | b'K' | b'J' | b'M'
        | b'X' | b'U' | b'T' | b'i' | b'l' | b'd' | b'P' | 0x88 | 0x89, ..] => Magic::PickleLike,
        _ => Magic::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Magic::Zip);
        assert_eq!(sniff(b"\x93NUMPY\x01\x00"), Magic::Npy);
        assert_eq!(sniff(b"GGUF\x03\x00\x00\x00"), Magic::Gguf);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Magic::Gzip);
        assert_eq!(sniff(b"\x78\x9c\x01\x02"), Magic::Zlib);
        assert_eq!(sniff(b"BZh91AY"), Magic::Bzip2);
        assert_eq!(sniff(b"\xfd7zXZ\x00\x00"), Magic::Xz);
        assert_eq!(sniff(b"\x5d\x00\x00\x80\x00"), Magic::Lzma);
        assert_eq!(sniff(b"\x04\x22\x4d\x18\x60"), Magic::Lz4);
        assert_eq!(sniff(b"\x78\x9d\x01\x02"), Magic::Other);
        assert_eq!(sniff(b"\x80\x04\x95\x00"), Magic::PickleLike);
        assert_eq!(sniff(b"\x80\x09"), Magic::Other);
        assert_eq!(sniff(b"cos\nsystem\n"), Magic::PickleLike);
        assert_eq!(sniff(b"\x00\x00\x00\x00"), Magic::Other);
        assert_eq!(sniff(b""), Magic::Other);
    }
}
