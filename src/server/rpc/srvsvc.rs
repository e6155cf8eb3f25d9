//! The srvsvc operations needed to browse a server (MS-SRVS 3.1.4): NetrShareEnum
//! (opnum 15, `srvsvc_NetShareEnumAll` in Samba's IDL, MS-SRVS 3.1.4.8), NetrShareGetInfo
//! (opnum 16, 3.1.4.10) and NetrServerGetInfo (opnum 21, 3.1.4.17). Request and response
//! stubs follow the NDR 2.0 layouts of MS-SRVS 2.2.4 / Samba `librpc/idl/srvsvc.idl`:
//! non-encapsulated unions carry their `uint32` discriminant, `[ref]` top-level pointers
//! have no wire form, structure arrays are written scalars first then the pointees.

use super::ndr::{NdrError, NdrReader, NdrWriter};
use super::ShareInfo;

/// Opnum of NetrShareEnum (NetShareEnumAll).
pub const OPNUM_NETR_SHARE_ENUM: u16 = 15;
/// Opnum of NetrShareGetInfo.
pub const OPNUM_NETR_SHARE_GET_INFO: u16 = 16;
/// Opnum of NetrServerGetInfo.
pub const OPNUM_NETR_SERVER_GET_INFO: u16 = 21;

/// WERROR: success.
pub const WERR_OK: u32 = 0;
/// WERROR: ERROR_INVALID_LEVEL.
pub const WERR_INVALID_LEVEL: u32 = 124;
/// WERROR: NERR_NetNameNotFound.
pub const NERR_NET_NAME_NOT_FOUND: u32 = 2310;

/// Fault status: operation number out of range (C706 Appendix E).
pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;
/// Fault status: malformed stub data (RPC_X_BAD_STUB_DATA / nca_s_fault_ndr).
pub const NCA_S_FAULT_NDR: u32 = 0x0000_06f7;

/// `platform_id` PLATFORM_ID_NT.
pub const PLATFORM_ID_NT: u32 = 500;
/// `server_type`: SV_TYPE_WORKSTATION | SV_TYPE_SERVER | SV_TYPE_SERVER_NT.
pub const SERVER_TYPE: u32 = 0x0000_9003;
/// Comment returned by NetrServerGetInfo.
pub const SERVER_COMMENT: &str = "rsmbd";

/// One field of an info structure, as laid out in NDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdrValue {
    /// A `uint32` (or v1_enum / bitmap).
    U32(u32),
    /// A unique pointer to a conformant varying UTF-16 string.
    Str(Option<String>),
    /// A unique pointer to a conformant byte array (`sec_desc_buf.sd`).
    Bytes(Option<Vec<u8>>),
}

/// Union arms of SHARE_ENUM_UNION / SHARE_INFO (Samba's `srvsvc_NetShareCtr`).
const SHARE_UNION_CASES: &[u32] = &[0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1007, 1501];

/// Union arms of SERVER_INFO (`srvsvc_NetSrvInfo`).
const SERVER_UNION_CASES: &[u32] = &[
    100, 101, 102, 402, 403, 502, 503, 599, 1005, 1010, 1016, 1017, 1018, 1107, 1501, 1502, 1503,
    1506, 1509, 1510, 1511, 1512, 1513, 1514, 1515, 1516, 1518, 1520, 1521, 1522, 1523, 1524, 1525,
    1528, 1529, 1530, 1533, 1534, 1535, 1536, 1537, 1538, 1539, 1540, 1541, 1542, 1543, 1544, 1545,
    1546, 1547, 1548, 1549, 1550, 1552, 1553, 1554, 1555, 1556,
];

/// Share info levels served by NetrShareEnum.
const ENUM_LEVELS: &[u32] = &[0, 1, 2, 501, 502];
/// Share info levels served by NetrShareGetInfo.
const GET_INFO_LEVELS: &[u32] = &[0, 1, 2, 501, 502, 1004, 1005, 1006];

/// Field kinds of each share info structure (`S`: string pointer, `U`: uint32,
/// `B`: byte-array pointer).
fn share_layout(level: u32) -> Option<&'static [u8]> {
    Some(match level {
        0 => b"S",
        1 => b"SUS",
        2 => b"SUSUUUSS",
        501 => b"SUSU",
        502 => b"SUSUUUSSUB",
        1004 => b"S",
        1005 | 1006 => b"U",
        _ => return None,
    })
}

/// The NDR fields of `share` at `level` (one of [`GET_INFO_LEVELS`]).
pub fn share_values(level: u32, share: &ShareInfo) -> Vec<NdrValue> {
    let s = |v: &str| NdrValue::Str(Some(v.to_string()));
    let name = s(&share.name);
    let ty = NdrValue::U32(share.share_type);
    let comment = s(&share.comment);
    let lvl2 = |mut v: Vec<NdrValue>| {
        v.extend([
            NdrValue::U32(0),        // permissions
            NdrValue::U32(u32::MAX), // max_uses: unlimited
            NdrValue::U32(0),        // current_uses
            s(&share.path),          // path
            NdrValue::Str(None),     // passwd
        ]);
        v
    };
    match level {
        0 => vec![name],
        1 => vec![name, ty, comment],
        2 => lvl2(vec![name, ty, comment]),
        501 => vec![name, ty, comment, NdrValue::U32(0)], // csc_policy: manual
        502 => {
            let mut v = lvl2(vec![name, ty, comment]);
            v.extend([NdrValue::U32(0), NdrValue::Bytes(None)]); // no security descriptor
            v
        }
        1004 => vec![comment],
        1005 => vec![NdrValue::U32(0)],     // dfs_flags
        _ => vec![NdrValue::U32(u32::MAX)], // 1006: max_uses
    }
}

/// Writes structures with embedded pointers: all scalars, then each one's pointees.
pub fn write_structs(w: &mut NdrWriter, items: &[Vec<NdrValue>]) {
    for item in items {
        for v in item {
            match v {
                NdrValue::U32(x) => w.u32(*x),
                NdrValue::Str(p) => w.ptr(p.is_some()),
                NdrValue::Bytes(p) => w.ptr(p.is_some()),
            }
        }
    }
    for item in items {
        for v in item {
            match v {
                NdrValue::Str(Some(s)) => w.string(s),
                NdrValue::Bytes(Some(b)) => {
                    w.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
                    w.bytes(b);
                }
                _ => {}
            }
        }
    }
}

/// Reads `count` structures of the given layout written by [`write_structs`].
pub fn read_structs(
    r: &mut NdrReader<'_>,
    layout: &[u8],
    count: u32,
) -> Result<Vec<Vec<NdrValue>>, NdrError> {
    let mut items = Vec::new();
    for _ in 0..count {
        let mut item = Vec::with_capacity(layout.len());
        for k in layout {
            let x = r.u32()?; // consumes input: the loop is bounded by the stub length
            item.push(match k {
                b'U' => NdrValue::U32(x),
                b'S' => NdrValue::Str((x != 0).then(String::new)),
                _ => NdrValue::Bytes((x != 0).then(Vec::new)),
            });
        }
        items.push(item);
    }
    for item in items.iter_mut() {
        for v in item.iter_mut() {
            match v {
                NdrValue::Str(Some(s)) => *s = r.string()?,
                NdrValue::Bytes(Some(b)) => *b = r.byte_array()?.to_vec(),
                _ => {}
            }
        }
    }
    Ok(items)
}

/// Reads a share container (`SHARE_INFO_n_CONTAINER`: count, pointer to conformant
/// array) for `level`, as found in NetrShareEnum requests and responses.
pub fn read_share_container(
    r: &mut NdrReader<'_>,
    level: u32,
) -> Result<Vec<Vec<NdrValue>>, NdrError> {
    let count = r.u32()?;
    if !r.ptr()? {
        return Ok(Vec::new());
    }
    let max_count = r.u32()?;
    if max_count != count {
        return Err(NdrError("array size differs from count"));
    }
    let layout = share_layout(level).ok_or(NdrError("unsupported container level"))?;
    read_structs(r, layout, count)
}

fn skip_server_unc(r: &mut NdrReader<'_>) -> Result<(), NdrError> {
    if r.ptr()? {
        r.string()?;
    }
    Ok(())
}

/// Executes `opnum` on its request stub; `Err` is a fault status.
pub fn call(
    opnum: u16,
    stub: &[u8],
    server_name: &str,
    shares: &[ShareInfo],
) -> Result<Vec<u8>, u32> {
    let r = &mut NdrReader::new(stub);
    let res = match opnum {
        OPNUM_NETR_SHARE_ENUM => share_enum(r, shares),
        OPNUM_NETR_SHARE_GET_INFO => share_get_info(r, shares),
        OPNUM_NETR_SERVER_GET_INFO => server_get_info(r, server_name),
        _ => return Err(NCA_S_OP_RNG_ERROR),
    };
    res.map_err(|_| NCA_S_FAULT_NDR)
}

/// NetrShareEnum (MS-SRVS 3.1.4.8). All remaining entries are returned whatever
/// PreferedMaximumLength says, so the status is never ERROR_MORE_DATA.
fn share_enum(r: &mut NdrReader<'_>, shares: &[ShareInfo]) -> Result<Vec<u8>, NdrError> {
    skip_server_unc(r)?;
    let level = r.u32()?;
    if r.u32()? != level {
        return Err(NdrError("union discriminant differs from level"));
    }
    let known = SHARE_UNION_CASES.contains(&level);
    if known && r.ptr()? {
        read_share_container(r, level)?; // input entries are ignored
    }
    let _prefered_maximum_length = r.u32()?;
    let resume = if r.ptr()? { Some(r.u32()?) } else { None };

    let mut w = NdrWriter::new();
    w.u32(level);
    w.u32(level);
    let status = if let Some(layout_level) = ENUM_LEVELS.iter().find(|l| **l == level) {
        let start = resume.map_or(0, |h| usize::try_from(h).unwrap_or(usize::MAX));
        let entries: Vec<Vec<NdrValue>> = shares
            .iter()
            .skip(start)
            .map(|s| share_values(*layout_level, s))
            .collect();
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        w.ptr(true);
        w.u32(count);
        w.ptr(count > 0);
        if count > 0 {
            w.u32(count);
            write_structs(&mut w, &entries);
        }
        WERR_OK
    } else {
        if known {
            w.ptr(false);
        }
        WERR_INVALID_LEVEL
    };
    w.u32(u32::try_from(shares.len()).unwrap_or(u32::MAX)); // TotalEntries
    if resume.is_some() {
        w.ptr(true);
        w.u32(0); // everything was returned
    } else {
        w.ptr(false);
    }
    w.u32(status);
    Ok(w.finish())
}

/// Case-insensitive share name comparison.
fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// NetrShareGetInfo (MS-SRVS 3.1.4.10).
fn share_get_info(r: &mut NdrReader<'_>, shares: &[ShareInfo]) -> Result<Vec<u8>, NdrError> {
    skip_server_unc(r)?;
    let net_name = r.string()?;
    let level = r.u32()?;

    let mut w = NdrWriter::new();
    w.u32(level);
    let known = SHARE_UNION_CASES.contains(&level);
    let status = if !GET_INFO_LEVELS.contains(&level) {
        if known {
            w.ptr(false);
        }
        WERR_INVALID_LEVEL
    } else if let Some(share) = shares.iter().find(|s| same_name(&s.name, &net_name)) {
        w.ptr(true);
        write_structs(&mut w, &[share_values(level, share)]);
        WERR_OK
    } else {
        w.ptr(false);
        NERR_NET_NAME_NOT_FOUND
    };
    w.u32(status);
    Ok(w.finish())
}

/// NetrServerGetInfo (MS-SRVS 3.1.4.17), levels 100, 101 and 102.
fn server_get_info(r: &mut NdrReader<'_>, server_name: &str) -> Result<Vec<u8>, NdrError> {
    skip_server_unc(r)?;
    let level = r.u32()?;
    let s = |v: &str| NdrValue::Str(Some(v.to_string()));
    let mut info = vec![NdrValue::U32(PLATFORM_ID_NT), s(server_name)];
    if level != 100 {
        info.extend([
            NdrValue::U32(10), // version_major
            NdrValue::U32(0),  // version_minor
            NdrValue::U32(SERVER_TYPE),
            s(SERVER_COMMENT),
        ]);
    }
    if level == 102 {
        info.extend([
            NdrValue::U32(u32::MAX), // users
            NdrValue::U32(15),       // disc (autodisconnect minutes)
            NdrValue::U32(0),        // hidden
            NdrValue::U32(240),      // announce
            NdrValue::U32(3000),     // anndelta
            NdrValue::U32(0),        // licenses
            s("C:\\"),               // userpath
        ]);
    }
    let mut w = NdrWriter::new();
    w.u32(level);
    let status = if matches!(level, 100..=102) {
        w.ptr(true);
        write_structs(&mut w, &[info]);
        WERR_OK
    } else {
        if SERVER_UNION_CASES.contains(&level) {
            w.ptr(false);
        }
        WERR_INVALID_LEVEL
    };
    w.u32(status);
    Ok(w.finish())
}
