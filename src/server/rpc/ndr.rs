//! Minimal NDR 2.0 (C706 chapter 14, MS-RPCE 2.2.5) marshalling for the srvsvc stubs:
//! little-endian primitives aligned relative to the start of the stub buffer, unique
//! pointers (referent ids), and conformant varying UTF-16 strings
//! (`[string, charset(UTF16)] uint16 *`, C706 14.3.4.2 / 14.3.3.4).
//!
//! Deferred pointees are written by the callers in NDR order (a structure's or an
//! array's scalars first, then the pointees of its embedded pointers in order);
//! [`NdrWriter::ptr`] hands out increasing non-zero referent ids.

/// First referent id handed out (the value Windows and Samba use).
const FIRST_REFERENT_ID: u32 = 0x0002_0000;

/// Error decoding NDR stub data (answered with a `nca_s_fault_ndr` fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdrError(pub &'static str);

/// Reads NDR 2.0 little-endian data from a stub buffer; every access is bounds-checked.
pub struct NdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> NdrReader<'a> {
    /// A reader positioned at the start of the stub (alignment is relative to it).
    pub fn new(buf: &'a [u8]) -> Self {
        NdrReader { buf, pos: 0 }
    }

    /// Current offset from the start of the stub.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left after the current position.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Skips padding so the position is a multiple of `n` (a power of two).
    pub fn align(&mut self, n: usize) -> Result<(), NdrError> {
        let pad = (n - self.pos % n) % n;
        self.take(pad).map(|_| ())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], NdrError> {
        let end = self.pos.checked_add(n).ok_or(NdrError("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(NdrError("stub data too short"))?;
        self.pos = end;
        Ok(s)
    }

    /// A `uint8`.
    pub fn u8(&mut self) -> Result<u8, NdrError> {
        Ok(self.take(1)?[0])
    }

    /// An aligned `uint16`.
    pub fn u16(&mut self) -> Result<u16, NdrError> {
        self.align(2)?;
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// An aligned `uint32`.
    pub fn u32(&mut self) -> Result<u32, NdrError> {
        self.align(4)?;
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A unique/full pointer's referent id: `true` when non-NULL.
    pub fn ptr(&mut self) -> Result<bool, NdrError> {
        Ok(self.u32()? != 0)
    }

    /// A conformant varying UTF-16 string (max_count, offset, actual_count, units); the
    /// terminating NUL, if present, is stripped. Never allocates more than the input holds.
    pub fn string(&mut self) -> Result<String, NdrError> {
        let max_count = self.u32()?;
        let offset = self.u32()?;
        let actual_count = self.u32()?;
        if offset != 0 || actual_count > max_count {
            return Err(NdrError("bad string bounds"));
        }
        let n = usize::try_from(actual_count).map_err(|_| NdrError("string too long"))?;
        let bytes_len = n.checked_mul(2).ok_or(NdrError("string too long"))?;
        if bytes_len > self.remaining() {
            return Err(NdrError("string exceeds stub data"));
        }
        let bytes = self.take(bytes_len)?;
        let mut units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        if units.last() == Some(&0) {
            units.pop();
        }
        Ok(String::from_utf16_lossy(&units))
    }

    /// A conformant array of bytes (max_count, bytes), as in `sec_desc_buf`.
    pub fn byte_array(&mut self) -> Result<&'a [u8], NdrError> {
        let n = usize::try_from(self.u32()?).map_err(|_| NdrError("array too long"))?;
        self.take(n)
    }
}

/// Builds NDR 2.0 little-endian stub data.
pub struct NdrWriter {
    buf: Vec<u8>,
    next_referent: u32,
}

impl Default for NdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl NdrWriter {
    /// An empty stub buffer.
    pub fn new() -> Self {
        NdrWriter {
            buf: Vec::new(),
            next_referent: FIRST_REFERENT_ID,
        }
    }

    /// Pads with zeros to a multiple of `n` from the stub start.
    pub fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    /// An aligned `uint32`.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A unique pointer: a fresh referent id when `present`, else NULL (0). The caller
    /// writes the pointee later, at its deferred position.
    pub fn ptr(&mut self, present: bool) {
        if present {
            let id = self.next_referent;
            self.next_referent = self.next_referent.wrapping_add(4);
            self.u32(id);
        } else {
            self.u32(0);
        }
    }

    /// A conformant varying UTF-16 string including its terminating NUL.
    pub fn string(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        let count = u32::try_from(units.len()).unwrap_or(u32::MAX);
        self.u32(count); // max_count
        self.u32(0); // offset
        self.u32(count); // actual_count
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
    }

    /// Raw bytes (the elements of a conformant byte array; no alignment).
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// The encoded stub.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}
