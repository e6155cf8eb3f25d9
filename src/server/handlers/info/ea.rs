//! Extended attributes (MS-FSCC 2.4.15 FILE_FULL_EA_INFORMATION; MS-FSA 2.1.5.12 query and
//! 2.1.5.15 set of FileFullEaInformation), stored by the backend as `user.<NAME>` xattrs
//! ([`crate::vfs::Handle::get_xattr`]). EA names are ASCII and case-insensitive: they are
//! stored and returned upper-cased, as NTFS does.
use crate::vfs::{Handle, VfsResult};
use crate::wire::info::ea::{FileFullEaInformation, FileGetEaInformation};
use crate::wire::NtStatus;

/// STATUS_INVALID_EA_NAME (MS-ERREF).
pub const INVALID_EA_NAME: NtStatus = NtStatus(0x8000_0013);

/// Whether `name` is a valid EA name (MS-FSCC 2.4.15: 1–255 ASCII characters, none of the
/// characters invalid in file names, no control characters).
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.iter().all(|&c| {
            (0x20..0x7F).contains(&c)
                && !matches!(
                    c,
                    b'"' | b'*'
                        | b'/'
                        | b':'
                        | b'<'
                        | b'>'
                        | b'?'
                        | b'\\'
                        | b'|'
                        | b','
                        | b';'
                        | b'='
                        | b'+'
                        | b'['
                        | b']'
                )
        })
}

/// Every EA of a file (blocking). Names that are not valid EA names are skipped.
pub fn read_all(h: &dyn Handle) -> VfsResult<Vec<FileFullEaInformation>> {
    let mut out = Vec::new();
    for name in h.list_xattr()? {
        if !valid_name(name.as_bytes()) {
            continue;
        }
        if let Some(value) = h.get_xattr(&name)? {
            if value.len() > u16::MAX as usize {
                continue;
            }
            out.push(FileFullEaInformation {
                flags: 0,
                ea_name: name.to_ascii_uppercase().into_bytes(),
                ea_value: value,
            });
        }
    }
    Ok(out)
}

/// The EAs named in a FILE_GET_EA_INFORMATION list, in its order; an absent one comes back
/// with an empty value (blocking).
pub fn read_named(
    h: &dyn Handle,
    wanted: &[FileGetEaInformation],
) -> VfsResult<Vec<FileFullEaInformation>> {
    let have = h.list_xattr()?;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let name = String::from_utf8_lossy(&w.ea_name).to_ascii_uppercase();
        let actual = have.iter().find(|n| n.eq_ignore_ascii_case(&name));
        let value = match actual {
            Some(a) => h.get_xattr(a)?.unwrap_or_default(),
            None => Vec::new(),
        };
        out.push(FileFullEaInformation {
            flags: 0,
            ea_name: name.into_bytes(),
            ea_value: value,
        });
    }
    Ok(out)
}

/// EaSize of FileEaInformation: the size of the list in FILE_FULL_EA_INFORMATION form
/// (entries 4-byte aligned), 0 when there are none.
pub fn ea_size(list: &[FileFullEaInformation]) -> u32 {
    let mut total = 0usize;
    for (i, e) in list.iter().enumerate() {
        let len = e.entry_len();
        total += if i + 1 < list.len() {
            len.div_ceil(4) * 4
        } else {
            len
        };
    }
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// Applies a SET_INFO FileFullEaInformation list (blocking): an empty value removes the EA,
/// others set it. Names are validated before anything changes.
pub fn apply(h: &dyn Handle, list: &[FileFullEaInformation]) -> Result<(), NtStatus> {
    if list.iter().any(|e| !valid_name(&e.ea_name)) {
        return Err(INVALID_EA_NAME);
    }
    let have = h.list_xattr().map_err(|e| e.status())?;
    for e in list {
        let name = String::from_utf8_lossy(&e.ea_name).to_ascii_uppercase();
        // Remove any spelling of the name that differs in case only.
        for old in have
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(&name) && **n != name)
        {
            h.remove_xattr(old).map_err(|e| e.status())?;
        }
        if e.ea_value.is_empty() {
            h.remove_xattr(&name).map_err(|e| e.status())?;
        } else {
            h.set_xattr(&name, &e.ea_value).map_err(|e| e.status())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_size() {
        assert!(valid_name(b"EAONE"));
        assert!(valid_name(b"user.x"));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"a*b"));
        assert!(!valid_name(&[b'a'; 256]));
        let e = |n: &str, v: &str| FileFullEaInformation {
            flags: 0,
            ea_name: n.as_bytes().to_vec(),
            ea_value: v.as_bytes().to_vec(),
        };
        // 8 + 5 + 1 + 6 = 20; 8 + 8 + 1 + 8 = 25.
        assert_eq!(
            ea_size(&[e("EAONE", "VALUE1"), e("SECONDEA", "ValueTwo")]),
            45
        );
        assert_eq!(ea_size(&[]), 0);
    }
}
