//! QUERY_INFO with InfoType SMB2_0_INFO_FILE (MS-SMB2 3.3.5.20.1; MS-FSA 2.1.5.12 per
//! class; MS-FSCC 2.4 layouts).
//!
//! Fixed parts are the C `sizeof` of the structures, as Windows checks them (FileAll 104,
//! names 8, streams 32). Directories report EndOfFile and AllocationSize 0 (the Linux size of
//! a directory means nothing to Windows clients). No 8.3 names are generated: the alternate
//! name of a file whose name is already a valid 8.3 name is that name (NTFS keeps such a name
//! in the Win32 and DOS namespaces at once), otherwise OBJECT_NAME_NOT_FOUND.
//!
//! ChangeTime is reported as the last write time ([`change_time`]): Linux cannot set a
//! ctime, and clients expect a ChangeTime they set to stick (Samba does the same).
use super::{chain, ea, file_of, need, stat, Answer, FILE_READ_ATTRIBUTES, FILE_READ_EA};
use crate::server::dispatch::Ctx;
use crate::server::handlers::files;
use crate::server::open::{FileOpen, Open};
use crate::vfs::FileStat;
use crate::wire::info::ea::{FileFullEaInformation, FileGetEaInformation, FileStreamInformation};
use crate::wire::info::file::*;
use crate::wire::info::FileInformationClass as C;
use crate::wire::query_info::QueryInfoRequest;
use crate::wire::{BytesMut, NtStatus};
use std::sync::atomic::Ordering;

/// Size of FILE_NAME_INFORMATION as C declares it (FileNameLength + one WCHAR, aligned).
const NAME_FIXED: usize = 8;
/// sizeof(FILE_ALL_INFORMATION).
const ALL_FIXED: usize = 104;
/// sizeof(FILE_STREAM_INFORMATION).
const STREAM_FIXED: usize = 32;

/// The values reported for a file: directories have no size.
pub fn sizes(st: &FileStat) -> (u64, u64) {
    if st.is_dir {
        (0, 0)
    } else {
        (st.size, st.allocation_size)
    }
}

/// The ChangeTime reported for a file: its last write time (see the module doc).
pub fn change_time(st: &FileStat) -> u64 {
    st.last_write_time
}

/// FileBasicInformation of a stat.
pub fn basic(st: &FileStat) -> FileBasicInformation {
    FileBasicInformation {
        creation_time: st.creation_time,
        last_access_time: st.last_access_time,
        last_write_time: st.last_write_time,
        change_time: change_time(st),
        file_attributes: st.attributes,
    }
}

/// Whether the open's file is marked delete-pending.
pub fn delete_pending(f: &FileOpen) -> bool {
    f.state.inner.lock().delete_pending
}

/// FileStandardInformation of a stat and the open's file state.
pub fn standard(st: &FileStat, f: &FileOpen) -> FileStandardInformation {
    let (eof, alloc) = sizes(st);
    let pending = delete_pending(f);
    FileStandardInformation {
        allocation_size: alloc,
        end_of_file: eof,
        number_of_links: if pending {
            st.nlink.saturating_sub(1).max(1)
        } else {
            st.nlink.max(1)
        },
        delete_pending: pending,
        directory: st.is_dir,
    }
}

/// The name of an open relative to the share root (current name, after renames), with
/// `:stream` for a stream.
pub fn share_relative_name(f: &FileOpen) -> String {
    f.handle.path().to_smb_string()
}

/// Whether `name` is a valid 8.3 name (so it is its own short name).
pub fn is_8dot3(name: &str) -> bool {
    let ok = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'()-@^_`{}~".contains(&c))
    };
    match name.split_once('.') {
        None => ok(name, 8),
        Some((base, ext)) => ok(base, 8) && ok(ext, 3),
    }
}

fn name_info(name: &str) -> Result<Answer, NtStatus> {
    let mut b = BytesMut::new();
    FileNameInformation {
        file_name: name.to_string(),
    }
    .encode(&mut b)
    .map_err(|_| NtStatus::INTERNAL_ERROR)?;
    Ok(Answer::variable(b, NAME_FIXED))
}

/// Volume serial number of a device (the low 32 bits folded with the high ones).
pub fn volume_serial(dev: u64) -> u32 {
    (dev ^ (dev >> 32)) as u32
}

/// FILE_ID_128 of an inode: the inode number, little-endian, zero-extended.
pub fn file_id_128(ino: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&ino.to_le_bytes());
    id
}

/// EAs of an open's file (blocking pool).
async fn eas(f: &FileOpen) -> Result<Vec<FileFullEaInformation>, NtStatus> {
    let h = f.handle.clone();
    files::blocking(move || ea::read_all(h.as_ref()))
        .await?
        .map_err(|e| e.status())
}

/// Answers one file information class.
pub async fn query(ctx: &Ctx, open: &Open, req: &QueryInfoRequest) -> Result<Answer, NtStatus> {
    let f = file_of(open)?;
    let class = C(req.file_info_class);
    let mut b = BytesMut::new();
    let answer = match class {
        C::FILE_BASIC_INFORMATION => {
            need(open, FILE_READ_ATTRIBUTES)?;
            basic(&stat(f).await?).encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_STANDARD_INFORMATION => {
            standard(&stat(f).await?, f).encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_INTERNAL_INFORMATION => {
            FileInternalInformation {
                index_number: stat(f).await?.file_id,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_EA_INFORMATION => {
            FileEaInformation {
                ea_size: ea::ea_size(&eas(f).await?),
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_ACCESS_INFORMATION => {
            FileAccessInformation {
                access_flags: open.granted_access,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_POSITION_INFORMATION => {
            FilePositionInformation {
                current_byte_offset: f.position.load(Ordering::Relaxed),
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_MODE_INFORMATION => {
            FileModeInformation {
                mode: f.mode.load(Ordering::Relaxed),
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_ALIGNMENT_INFORMATION => {
            FileAlignmentInformation::default().encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_ALL_INFORMATION => {
            need(open, FILE_READ_ATTRIBUTES)?;
            let st = stat(f).await?;
            let ea_size = ea::ea_size(&eas(f).await?);
            FileAllInformation {
                basic: basic(&st),
                standard: standard(&st, f),
                internal: FileInternalInformation {
                    index_number: st.file_id,
                },
                ea: FileEaInformation { ea_size },
                access: FileAccessInformation {
                    access_flags: open.granted_access,
                },
                position: FilePositionInformation {
                    current_byte_offset: f.position.load(Ordering::Relaxed),
                },
                mode: FileModeInformation {
                    mode: f.mode.load(Ordering::Relaxed),
                },
                alignment: FileAlignmentInformation::default(),
                name: FileNameInformation {
                    file_name: format!("\\{}", share_relative_name(f)),
                },
            }
            .encode(&mut b)
            .map_err(|_| NtStatus::INTERNAL_ERROR)?;
            Answer::variable(b, ALL_FIXED)
        }
        C::FILE_ALTERNATE_NAME_INFORMATION => {
            let path = f.handle.path();
            match path.file_name() {
                Some(n) if path.stream().is_none() && is_8dot3(n) => name_info(n)?,
                _ => return Err(NtStatus::OBJECT_NAME_NOT_FOUND),
            }
        }
        C::FILE_STREAM_INFORMATION => streams(open, f).await?,
        C::FILE_NETWORK_OPEN_INFORMATION => {
            need(open, FILE_READ_ATTRIBUTES)?;
            let st = stat(f).await?;
            let (eof, alloc) = sizes(&st);
            FileNetworkOpenInformation {
                creation_time: st.creation_time,
                last_access_time: st.last_access_time,
                last_write_time: st.last_write_time,
                change_time: change_time(&st),
                allocation_size: alloc,
                end_of_file: eof,
                file_attributes: st.attributes,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_ATTRIBUTE_TAG_INFORMATION => {
            need(open, FILE_READ_ATTRIBUTES)?;
            FileAttributeTagInformation {
                file_attributes: stat(f).await?.attributes,
                reparse_tag: 0,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_COMPRESSION_INFORMATION => {
            let st = stat(f).await?;
            FileCompressionInformation {
                compressed_file_size: sizes(&st).0,
                ..Default::default()
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_ID_INFORMATION => {
            let st = stat(f).await?;
            FileIdInformation {
                volume_serial_number: u64::from(volume_serial(st.dev)),
                file_id: file_id_128(st.file_id),
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_NORMALIZED_NAME_INFORMATION => {
            if ctx.dialect() < 0x0311 {
                return Err(NtStatus::NOT_SUPPORTED);
            }
            name_info(&share_relative_name(f))?
        }
        C::FILE_FULL_EA_INFORMATION => return full_ea(open, f, req).await,
        C::FILE_NAME_INFORMATION
        | C::FILE_PIPE_INFORMATION
        | C::FILE_PIPE_LOCAL_INFORMATION
        | C::FILE_PIPE_REMOTE_INFORMATION
        | C::FILE_OBJECT_ID_INFORMATION
        | C::FILE_QUOTA_INFORMATION
        | C::FILE_REPARSE_POINT_INFORMATION
        | C::FILE_HARD_LINK_INFORMATION
        | C::FILE_STANDARD_LINK_INFORMATION
        | C::FILE_REMOTE_PROTOCOL_INFORMATION
        | C::FILE_CASE_SENSITIVE_INFORMATION
        | C::FILE_STAT_INFORMATION
        | C::FILE_STAT_LX_INFORMATION
        | C::FILE_VALID_DATA_LENGTH_INFORMATION
        | C::FILE_SHORT_NAME_INFORMATION => return Err(NtStatus::NOT_SUPPORTED),
        _ => return Err(NtStatus::INVALID_INFO_CLASS),
    };
    Ok(answer)
}

/// FileStreamInformation (MS-FSA 2.1.5.12, MS-FSCC 2.4.48): `::$DATA` for files, then the named streams.
/// For a stream open, the list is the base file's.
async fn streams(open: &Open, f: &FileOpen) -> Result<Answer, NtStatus> {
    let h = f.handle.clone();
    let vfs = super::vfs_of(open)?;
    let (named, st) = files::blocking(move || {
        let named = h.streams()?;
        let path = h.path();
        let st = if path.stream().is_some() {
            let req = crate::vfs::OpenRequest {
                read: false,
                ..Default::default()
            };
            vfs.open(&path.without_stream(), &req)?.0.stat()?
        } else {
            h.stat()?
        };
        Ok::<_, crate::vfs::VfsError>((named, st))
    })
    .await?
    .map_err(|e| e.status())?;
    let mut list = Vec::with_capacity(named.len() + 1);
    if !st.is_dir {
        list.push(FileStreamInformation {
            stream_size: st.size,
            stream_allocation_size: st.allocation_size,
            stream_name: "::$DATA".into(),
        });
    }
    for (name, size) in named {
        list.push(FileStreamInformation {
            stream_size: size,
            stream_allocation_size: size.div_ceil(4096) * 4096,
            stream_name: format!(":{name}:$DATA"),
        });
    }
    chain(&list, 8, STREAM_FIXED, |e, o| {
        FileStreamInformation::encode_list(std::slice::from_ref(e), o)
            .map_err(|_| NtStatus::INTERNAL_ERROR)
    })
}

/// FileFullEaInformation (MS-FSA 2.1.5.12, MS-FSCC 2.4.15): all EAs, or those the InputBuffer names.
async fn full_ea(open: &Open, f: &FileOpen, req: &QueryInfoRequest) -> Result<Answer, NtStatus> {
    need(open, FILE_READ_EA)?;
    let wanted = FileGetEaInformation::decode_list(&req.input_buffer)
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let h = f.handle.clone();
    let list = files::blocking(move || {
        if wanted.is_empty() {
            ea::read_all(h.as_ref())
        } else {
            ea::read_named(h.as_ref(), &wanted)
        }
    })
    .await?
    .map_err(|e| e.status())?;
    if list.is_empty() {
        return Err(NtStatus::NO_EAS_ON_FILE);
    }
    let first = list.first().map(|e| e.entry_len()).unwrap_or(0);
    if (req.output_buffer_length as usize) < first {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    chain(&list, 4, 0, |e, o| {
        FileFullEaInformation::encode_list(std::slice::from_ref(e), o)
            .map_err(|_| NtStatus::INTERNAL_ERROR)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert!(is_8dot3("bufsize.txt"));
        assert!(is_8dot3("ABCDEFGH.TXT"));
        assert!(is_8dot3("a"));
        assert!(!is_8dot3("abcdefghi.txt"));
        assert!(!is_8dot3("a.b.c"));
        assert!(!is_8dot3("a b.txt"));
        assert!(!is_8dot3(".txt"));
        assert!(!is_8dot3("abc.text"));
    }

    #[test]
    fn sizes_of_directories_are_zero() {
        let st = FileStat {
            size: 4096,
            allocation_size: 4096,
            is_dir: true,
            ..Default::default()
        };
        assert_eq!(sizes(&st), (0, 0));
        assert_eq!(volume_serial(0x1_0000_0002), 3);
        assert_eq!(file_id_128(0x0102)[..2], [2, 1]);
    }
}
