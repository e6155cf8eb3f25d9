//! Share-relative path names as SMB2 CREATE carries them (MS-FSCC 2.1.5 pathname rules,
//! MS-FSA 2.1.5.1 phase 1 name checks, MS-FSCC 2.1.5.1 stream names).
//!
//! Rules applied by [`SharePath::parse`]:
//! - components are separated by `\`; one leading `\` is tolerated; the empty name is the root;
//! - a trailing `\` is kept as a flag ([`SharePath::has_trailing_separator`]): the object must
//!   then be a directory (MS-FSA 2.1.5.1: with FILE_NON_DIRECTORY_FILE it is OBJECT_NAME_INVALID);
//! - an empty component (`a\\b`) or a `.` component → OBJECT_NAME_INVALID; a `..` component →
//!   OBJECT_PATH_SYNTAX_BAD (no upward step is ever resolved);
//! - characters invalid in NTFS names (MS-FSCC 2.1.5.2): NUL and 0x01–0x1F, `"`, `*`, `/`, `<`,
//!   `>`, `?`, `|` → OBJECT_NAME_INVALID; `:` is only allowed in the last component, where it
//!   introduces a stream: `name:stream`, `name:stream:$DATA`, `name::$DATA` (the default
//!   stream, i.e. no stream); any other type, an empty stream name without type, or more than
//!   two colons → OBJECT_NAME_INVALID; stream names may contain control characters and
//!   wildcards, but not NUL, `/` or `\` (MS-FSCC 2.1.5.3);
//! - a component longer than 255 UTF-16 code units, or a whole path longer than 32,767 →
//!   OBJECT_NAME_INVALID;
//! - trailing spaces and dots are kept as given (the NT layer, unlike Win32, does not strip
//!   them); DOS device names (`CON`, `NUL`, ...) are ordinary names.

use super::error::{VfsError, VfsResult};
use crate::wire::NtStatus;

/// Longest component, in UTF-16 code units (MS-FSCC 2.1.5.2).
pub const MAX_COMPONENT_UTF16: usize = 255;
/// Longest path, in UTF-16 code units.
pub const MAX_PATH_UTF16: usize = 32_767;
/// Longest stream name in bytes: the xattr name `user.DosStream.<name>:$DATA` must fit in the
/// 255-byte Linux xattr name limit.
pub const MAX_STREAM_NAME_BYTES: usize = 255 - 21;

/// A validated path inside a share, with an optional named stream.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct SharePath {
    components: Vec<String>,
    stream: Option<String>,
    trailing_separator: bool,
}

fn invalid() -> VfsError {
    VfsError::status_only(NtStatus::OBJECT_NAME_INVALID)
}

/// Validates one file name component (no stream part).
pub fn validate_component(c: &str) -> VfsResult<()> {
    if c.is_empty() || c == "." {
        return Err(invalid());
    }
    if c == ".." {
        return Err(VfsError::status_only(NtStatus::OBJECT_PATH_SYNTAX_BAD));
    }
    if c.encode_utf16().count() > MAX_COMPONENT_UTF16 {
        return Err(invalid());
    }
    if c.chars().any(|ch| {
        (ch as u32) < 0x20 || matches!(ch, '"' | '*' | '/' | ':' | '<' | '>' | '?' | '\\' | '|')
    }) {
        return Err(invalid());
    }
    Ok(())
}

/// Stream names (MS-FSCC 2.1.5.3) may hold any character but NUL, `/`, `\` and `:`; control
/// characters and wildcards are allowed (Windows; smb2.streams.names2).
fn validate_stream_name(s: &str) -> VfsResult<()> {
    if s.len() > MAX_STREAM_NAME_BYTES || s.chars().any(|ch| matches!(ch, '\0' | '/' | '\\' | ':'))
    {
        return Err(invalid());
    }
    Ok(())
}

impl SharePath {
    /// The root of the share.
    pub fn root() -> SharePath {
        SharePath::default()
    }

    /// Parses and validates a name from the wire (already converted from UTF-16).
    pub fn parse(name: &str) -> VfsResult<SharePath> {
        if name.encode_utf16().count() > MAX_PATH_UTF16 {
            return Err(invalid());
        }
        // `/` separates components too, as Samba takes it (smb2.timestamps.test_close_not_attrib
        // opens `dir/file`); it can never be part of a name, so nothing else changes.
        let converted;
        let name = if name.contains('/') {
            converted = name.replace('/', "\\");
            converted.as_str()
        } else {
            name
        };
        let mut rest = name.strip_prefix('\\').unwrap_or(name);
        let mut trailing_separator = false;
        if let Some(r) = rest.strip_suffix('\\') {
            if r.is_empty() || r.ends_with('\\') {
                return Err(invalid());
            }
            rest = r;
            trailing_separator = true;
        }
        if rest.is_empty() {
            return Ok(SharePath::root());
        }
        let mut components = Vec::new();
        let mut stream = None;
        let mut parts = rest.split('\\').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let file = if last {
                let mut it = part.splitn(3, ':');
                let file = it.next().unwrap_or("");
                let sname = it.next();
                let stype = it.next();
                if let Some(sname) = sname {
                    if trailing_separator {
                        return Err(invalid());
                    }
                    match stype {
                        Some(t) if !t.eq_ignore_ascii_case("$DATA") => return Err(invalid()),
                        None if sname.is_empty() => return Err(invalid()),
                        _ => {}
                    }
                    validate_stream_name(sname)?;
                    if !sname.is_empty() {
                        stream = Some(sname.to_string());
                    }
                }
                file
            } else {
                part
            };
            validate_component(file)?;
            components.push(file.to_string());
        }
        Ok(SharePath {
            components,
            stream,
            trailing_separator,
        })
    }

    /// Builds a path from components already validated (each must pass [`validate_component`]).
    pub fn from_components<I: IntoIterator<Item = String>>(it: I) -> VfsResult<SharePath> {
        let components: Vec<String> = it.into_iter().collect();
        for c in &components {
            validate_component(c)?;
        }
        Ok(SharePath {
            components,
            stream: None,
            trailing_separator: false,
        })
    }

    /// The file name components, root first.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The named stream, if any (`None` for the default data stream).
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// True for the share root (with or without a stream).
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// True when the name ended with `\` (the object must be a directory).
    pub fn has_trailing_separator(&self) -> bool {
        self.trailing_separator
    }

    /// The parent directory (the root's parent is the root), without stream.
    pub fn parent(&self) -> SharePath {
        let n = self.components.len().saturating_sub(1);
        SharePath {
            components: self.components[..n].to_vec(),
            stream: None,
            trailing_separator: false,
        }
    }

    /// The components of the parent directory (empty for the root and its children).
    pub fn parent_components(&self) -> &[String] {
        let n = self.components.len().saturating_sub(1);
        &self.components[..n]
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        self.components.last().map(|s| s.as_str())
    }

    /// The same path without its stream.
    pub fn without_stream(&self) -> SharePath {
        SharePath {
            stream: None,
            ..self.clone()
        }
    }

    /// The same path with `name` appended (validated).
    pub fn join(&self, name: &str) -> VfsResult<SharePath> {
        validate_component(name)?;
        let mut components = self.components.clone();
        components.push(name.to_string());
        Ok(SharePath {
            components,
            stream: None,
            trailing_separator: false,
        })
    }

    /// True when `self` is `other` or lies beneath it (components compared exactly).
    pub fn starts_with(&self, other: &SharePath) -> bool {
        self.components.len() >= other.components.len()
            && self
                .components
                .iter()
                .zip(&other.components)
                .all(|(a, b)| a == b)
    }

    /// The path as SMB shows it: components joined with `\`, plus `:stream` if any.
    pub fn to_smb_string(&self) -> String {
        let mut s = self.components.join("\\");
        if let Some(st) = &self.stream {
            s.push(':');
            s.push_str(st);
        }
        s
    }
}

impl std::fmt::Display for SharePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_smb_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn st(name: &str) -> NtStatus {
        SharePath::parse(name).unwrap_err().status()
    }

    #[test]
    fn basic() {
        let p = SharePath::parse("a\\b\\c.txt").unwrap();
        assert_eq!(p.components(), ["a", "b", "c.txt"]);
        assert_eq!(p.file_name(), Some("c.txt"));
        assert_eq!(p.parent().components(), ["a", "b"]);
        assert!(SharePath::parse("").unwrap().is_root());
        assert!(SharePath::parse("\\").unwrap().is_root());
        assert_eq!(SharePath::parse("\\x").unwrap().components(), ["x"]);
        let d = SharePath::parse("dir\\").unwrap();
        assert!(d.has_trailing_separator());
        assert_eq!(d.components(), ["dir"]);
        assert_eq!(SharePath::parse("CON").unwrap().components(), ["CON"]);
        assert_eq!(SharePath::parse("a. ").unwrap().components(), ["a. "]);
    }

    #[test]
    fn rejects() {
        assert_eq!(st(".."), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(st("a\\..\\b"), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(st("a\\.\\b"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("a\\\\b"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("\\\\"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("a\0b"), NtStatus::OBJECT_NAME_INVALID);
        // `/` is a separator (CREATE refuses a leading one before parsing).
        assert_eq!(
            SharePath::parse("/etc/passwd").unwrap().components(),
            ["etc", "passwd"]
        );
        assert_eq!(
            SharePath::parse("a/b\\c").unwrap(),
            SharePath::parse("a\\b\\c").unwrap()
        );
        assert_eq!(st("a/../b"), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(st("f:x/../y"), NtStatus::OBJECT_NAME_INVALID);
        for c in ["a*", "a?", "a<", "a>", "a|", "a\"", "a\x01", "a\x1f"] {
            assert_eq!(st(c), NtStatus::OBJECT_NAME_INVALID, "{c:?}");
        }
        assert_eq!(st(&"x".repeat(256)), NtStatus::OBJECT_NAME_INVALID);
        assert!(SharePath::parse(&"x".repeat(255)).is_ok());
        // 255 UTF-16 units of a non-BMP char = 128 chars max
        assert!(SharePath::parse(&"😀".repeat(127)).is_ok());
        assert_eq!(st(&"😀".repeat(128)), NtStatus::OBJECT_NAME_INVALID);
    }

    #[test]
    fn streams() {
        let p = SharePath::parse("f:s:$DATA").unwrap();
        assert_eq!(
            (p.components(), p.stream()),
            (&["f".to_string()][..], Some("s"))
        );
        let p = SharePath::parse("d\\f:s").unwrap();
        assert_eq!(p.stream(), Some("s"));
        let p = SharePath::parse("f::$DATA").unwrap();
        assert_eq!(p.stream(), None);
        assert_eq!(SharePath::parse("f::$data").unwrap().stream(), None);
        assert_eq!(st("f:"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:a:b:c"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:a:$INDEX_ALLOCATION"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:..\\x:$DATA"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("d:s\\f"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:s/x"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:s\\"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(st("f:s\0x"), NtStatus::OBJECT_NAME_INVALID);
        let p = SharePath::parse("f:\x05S\n *?:$DATA").unwrap();
        assert_eq!(p.stream(), Some("\x05S\n *?"));
        // A stream on the root directory.
        let p = SharePath::parse(":s").unwrap_err();
        assert_eq!(p.status(), NtStatus::OBJECT_NAME_INVALID);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,64}") {
            let _ = SharePath::parse(&s);
        }

        #[test]
        fn round_trip(comps in proptest::collection::vec("[a-zA-Z0-9 ._-]{1,12}", 0..6)) {
            let comps: Vec<String> = comps.into_iter().filter(|c| c != "." && c != "..").collect();
            let s = comps.join("\\");
            let p = SharePath::parse(&s).unwrap();
            prop_assert_eq!(p.to_smb_string(), s);
            prop_assert_eq!(p.components(), &comps[..]);
        }
    }
}
