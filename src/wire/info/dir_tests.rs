//! Tests of the directory entry codec (MS-FSCC 2.4 field offsets).
use super::*;
use proptest::prelude::*;

const C: FileInformationClass = FileInformationClass::FILE_ID_BOTH_DIRECTORY_INFORMATION;

const CLASSES: [FileInformationClass; 8] = [
    FileInformationClass::FILE_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_FULL_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_BOTH_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_ID_BOTH_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_ID_FULL_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_ID_EXTD_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_ID_EXTD_BOTH_DIRECTORY_INFORMATION,
    FileInformationClass::FILE_NAMES_INFORMATION,
];

fn sample() -> DirEntry {
    DirEntry {
        file_index: 1,
        creation_time: 0x0102_0304_0506_0708,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        end_of_file: 5,
        allocation_size: 8,
        file_attributes: 0x20,
        ea_size: 9,
        short_name: "AB~1.TXT".into(),
        file_id: 0x1122_3344_5566_7788,
        file_id_128: [7; 16],
        reparse_tag: 0,
        name: "abcdef.txt".into(),
    }
}

fn enc(class: FileInformationClass, e: &DirEntry) -> Vec<u8> {
    let mut out = BytesMut::new();
    let n = encode_dir_entry(class, e, &mut out).unwrap();
    assert_eq!(n, out.len());
    assert_eq!(Some(n), entry_len(class, utf16_len(&e.name)));
    out.to_vec()
}

#[test]
fn id_both_layout() {
    let b = enc(C, &sample());
    assert_eq!(b.len(), 104 + 20);
    assert_eq!(&b[8..16], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&b[56..60], &0x20u32.to_le_bytes()); // FileAttributes
    assert_eq!(&b[60..64], &20u32.to_le_bytes()); // FileNameLength
    assert_eq!(&b[64..68], &9u32.to_le_bytes()); // EaSize
    assert_eq!(b[68], 16); // ShortNameLength
    assert_eq!(&b[70..72], &[b'A', 0]); // ShortName at 70
    assert_eq!(&b[96..104], &0x1122_3344_5566_7788u64.to_le_bytes()); // FileId at 96
    assert_eq!(&b[104..106], &[b'a', 0]); // FileName at 104
}

#[test]
fn fixed_offsets_match_ms_fscc() {
    let e = DirEntry {
        name: "x".into(),
        ..sample()
    };
    let expect = [64, 68, 94, 104, 80, 88, 114, 12];
    for (class, off) in CLASSES.iter().zip(expect) {
        let b = enc(*class, &e);
        assert_eq!(b.len(), off + 2, "class {class:?}");
        assert_eq!(&b[off..], &[b'x', 0], "class {class:?}");
    }
    // FileBothDirectoryInformation: ShortName at 70, FileName at 94.
    let b = enc(FileInformationClass::FILE_BOTH_DIRECTORY_INFORMATION, &e);
    assert_eq!(&b[70..72], &[b'A', 0]);
    // FileIdExtdDirectoryInformation: ReparsePointTag at 68, FileId at 72.
    let b = enc(FileInformationClass::FILE_ID_EXTD_DIRECTORY_INFORMATION, &e);
    assert_eq!(&b[72..88], &[7; 16]);
    // FileNamesInformation: FileNameLength at 8.
    let b = enc(FileInformationClass::FILE_NAMES_INFORMATION, &e);
    assert_eq!(&b[8..12], &2u32.to_le_bytes());
}

#[test]
fn reparse_tag_goes_in_ea_size() {
    let e = DirEntry {
        file_attributes: 0x400,
        reparse_tag: 0xA000_000C,
        ..sample()
    };
    let b = enc(C, &e);
    assert_eq!(&b[64..68], &0xA000_000Cu32.to_le_bytes());
    let d = decode_dir_entries(C, &b).unwrap();
    assert_eq!(d[0].reparse_tag, 0xA000_000C);
    assert_eq!(d[0].ea_size, 0);
}

#[test]
fn unsupported_class_is_an_error() {
    let mut out = BytesMut::new();
    let class = FileInformationClass::FILE_BASIC_INFORMATION;
    assert!(encode_dir_entry(class, &sample(), &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(entry_len(class, 2), None);
    assert!(decode_dir_entries(class, &[0; 80]).is_err());
}

#[test]
fn refuses_long_short_name() {
    let e = DirEntry {
        short_name: "ABCDEFGHIJKLM".into(),
        ..sample()
    };
    let mut out = BytesMut::new();
    assert!(encode_dir_entry(C, &e, &mut out).is_err());
    let mut b = enc(C, &sample());
    b[68] = 26;
    assert!(decode_dir_entries(C, &b).is_err());
}

#[test]
fn writer_chains_and_aligns() {
    let mut out = BytesMut::new();
    let mut w = DirEntryWriter::new(&mut out, 4096);
    let a = DirEntry {
        name: "a".into(),
        ..sample()
    };
    assert!(w.push(C, &a).unwrap());
    assert!(w.push(C, &sample()).unwrap());
    assert!(w.push(C, &a).unwrap());
    assert_eq!(w.count(), 3);
    // 106 -> next at 112; 112 + 124 = 236 -> next at 240; last is 106 bytes, unpadded.
    assert_eq!(w.len(), 240 + 106);
    assert_eq!(&out[0..4], &112u32.to_le_bytes());
    assert_eq!(&out[112..116], &128u32.to_le_bytes());
    assert_eq!(&out[240..244], &0u32.to_le_bytes());
    let d = decode_dir_entries(C, &out).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d[1], project(C, &sample()));
}

#[test]
fn refuses_dir_entry_over_max_len() {
    let mut out = BytesMut::new();
    let e = sample();
    let mut w = DirEntryWriter::new(&mut out, 124 + 8 + 123);
    assert!(w.push(C, &e).unwrap());
    // second would need 128 + 124 = 252 > 255? no: 252 <= 255 fits
    assert!(w.push(C, &e).unwrap());
    // third: 256 + 124 > 255
    assert!(!w.push(C, &e).unwrap());
    assert_eq!(w.count(), 2);
    assert_eq!(out.len(), 252);
    // A first entry bigger than the limit does not fit either.
    let mut out2 = BytesMut::new();
    let mut w = DirEntryWriter::new(&mut out2, 123);
    assert!(!w.push(C, &e).unwrap());
    assert!(w.is_empty());
    assert!(out2.is_empty());
}

#[test]
fn refuses_offsets_past_end() {
    let mut b = enc(C, &sample());
    b[60] = 200; // FileNameLength past the end
    assert_eq!(decode_dir_entries(C, &b), Err(Error::Truncated));
    let mut b = enc(C, &sample());
    b[0] = 200; // NextEntryOffset past the end
    assert_eq!(decode_dir_entries(C, &b), Err(Error::Truncated));
    let mut b = enc(C, &sample());
    b[0] = 8; // NextEntryOffset inside the entry
    assert!(decode_dir_entries(C, &b).is_err());
}

/// What decode(encode(e)) must give for a class: the fields the class lacks are zeroed.
fn project(class: FileInformationClass, e: &DirEntry) -> DirEntry {
    let k = kind(class).unwrap();
    let mut p = DirEntry {
        file_index: e.file_index,
        name: e.name.clone(),
        ..Default::default()
    };
    if k == Kind::Names {
        return p;
    }
    p.creation_time = e.creation_time;
    p.last_access_time = e.last_access_time;
    p.last_write_time = e.last_write_time;
    p.change_time = e.change_time;
    p.end_of_file = e.end_of_file;
    p.allocation_size = e.allocation_size;
    p.file_attributes = e.file_attributes;
    if k != Kind::Directory {
        if k.ea_is_tag() && e.file_attributes & 0x400 != 0 {
            p.reparse_tag = e.reparse_tag;
        } else {
            p.ea_size = e.ea_size;
        }
    }
    if matches!(k, Kind::Both | Kind::IdBoth | Kind::IdExtdBoth) {
        p.short_name = e.short_name.clone();
    }
    if matches!(k, Kind::IdBoth | Kind::IdFull) {
        p.file_id = e.file_id;
    }
    if matches!(k, Kind::IdExtd | Kind::IdExtdBoth) {
        p.reparse_tag = e.reparse_tag;
        p.file_id_128 = e.file_id_128;
    }
    p
}

fn entry() -> impl Strategy<Value = DirEntry> {
    (
        any::<(u32, u32, u32, u32)>(),
        any::<[u64; 7]>(),
        "[A-Z0-9~.]{0,12}",
        any::<[u8; 16]>(),
        ".{0,24}",
    )
        .prop_map(|(u, t, short_name, file_id_128, name)| DirEntry {
            file_index: u.0,
            creation_time: t[0],
            last_access_time: t[1],
            last_write_time: t[2],
            change_time: t[3],
            end_of_file: t[4],
            allocation_size: t[5],
            file_attributes: u.1,
            ea_size: u.2,
            short_name,
            file_id: t[6],
            file_id_128,
            reparse_tag: u.3,
            name,
        })
}

proptest! {
    #[test]
    fn round_trip_every_class(entries in proptest::collection::vec(entry(), 1..5), ci in 0usize..8) {
        let class = CLASSES[ci];
        let mut out = BytesMut::new();
        let mut w = DirEntryWriter::new(&mut out, usize::MAX);
        for e in &entries {
            prop_assert!(w.push(class, e).unwrap());
        }
        let d = decode_dir_entries(class, &out).unwrap();
        let expect: Vec<_> = entries.iter().map(|e| project(class, e)).collect();
        prop_assert_eq!(d, expect);
    }

    #[test]
    fn writer_never_exceeds_max(entries in proptest::collection::vec(entry(), 1..8), max in 0usize..600) {
        let mut out = BytesMut::new();
        let mut w = DirEntryWriter::new(&mut out, max);
        for e in &entries {
            let _ = w.push(C, e).unwrap();
        }
        prop_assert!(out.len() <= max);
    }

    #[test]
    fn decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300), ci in 0usize..8) {
        let _ = decode_dir_entries(CLASSES[ci], &b);
    }
}
