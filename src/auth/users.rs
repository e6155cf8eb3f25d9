//! The user database: user names, relative identifiers and NT hashes
//! (MD4 of the UTF-16LE password, MS-NLMP 3.3.1 NTOWFv1).
//!
//! File format, one user per line: `name:rid:NTHASHHEX` (32 hex digits). Blank lines and
//! lines starting with `#` are ignored. Names are matched case-insensitively, as Windows does.
//! [`UserDb::save`] replaces the file atomically with a new file of mode 0600.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use super::ntlm::nt_hash;

/// Lowest RID handed out to new users (below are well-known accounts).
pub const FIRST_USER_RID: u32 = 1000;
/// Maximum user name length, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// One user account.
#[derive(Clone, Debug)]
pub struct User {
    /// User name as configured (original case).
    pub name: String,
    /// Relative identifier.
    pub rid: u32,
    /// NT hash: MD4(UTF-16LE(password)).
    pub nt_hash: [u8; 16],
}

/// The set of users allowed to authenticate.
#[derive(Clone, Debug, Default)]
pub struct UserDb {
    /// Keyed by the uppercased name.
    users: BTreeMap<String, User>,
}

fn key(name: &str) -> String {
    super::ntlm::upper(name)
}

/// Checks a user name: 1..=64 characters, no ':' and no control characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(format!(
            "user name must be 1 to {MAX_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(|c| c == ':' || c.is_control()) {
        return Err("user name must not contain ':' or control characters".to_string());
    }
    Ok(())
}

fn parse_hash(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl UserDb {
    /// An empty database.
    pub fn empty() -> UserDb {
        UserDb::default()
    }

    /// Loads a database file. A missing file is an error; a bad line is an
    /// `InvalidData` error naming its line number.
    pub fn load(path: &Path) -> io::Result<UserDb> {
        let text = std::fs::read_to_string(path)?;
        Self::parse(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Parses the file contents.
    pub fn parse(text: &str) -> Result<UserDb, String> {
        let mut db = UserDb::empty();
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            let line = line.trim_end();
            if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {lineno}: {why}");
            let mut parts = line.split(':');
            let (Some(name), Some(rid), Some(hash), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected name:rid:NTHASHHEX"));
            };
            validate_name(name).map_err(|e| bad(&e))?;
            let rid: u32 = rid.parse().map_err(|_| bad("bad rid"))?;
            let nt_hash = parse_hash(hash).ok_or_else(|| bad("NT hash must be 32 hex digits"))?;
            if db.users.contains_key(&key(name)) {
                return Err(bad("duplicate user name"));
            }
            db.users.insert(
                key(name),
                User {
                    name: name.to_string(),
                    rid,
                    nt_hash,
                },
            );
        }
        Ok(db)
    }

    /// Finds a user, ignoring case.
    pub fn lookup(&self, name: &str) -> Option<User> {
        self.users.get(&key(name)).cloned()
    }

    /// Adds a user or replaces the password of an existing one (keeping its RID).
    /// New users get the next RID >= 1000.
    pub fn add(&mut self, name: &str, password: &str) -> Result<(), String> {
        validate_name(name)?;
        let hash = nt_hash(password);
        if let Some(u) = self.users.get_mut(&key(name)) {
            u.nt_hash = hash;
            return Ok(());
        }
        let rid = self
            .users
            .values()
            .map(|u| u.rid)
            .max()
            .unwrap_or(0)
            .max(FIRST_USER_RID - 1)
            .checked_add(1)
            .ok_or("no RID left")?;
        self.users.insert(
            key(name),
            User {
                name: name.to_string(),
                rid,
                nt_hash: hash,
            },
        );
        Ok(())
    }

    /// Removes a user; returns whether it existed.
    pub fn remove(&mut self, name: &str) -> bool {
        self.users.remove(&key(name)).is_some()
    }

    /// All users, ordered by uppercased name.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// Serialises the database in the file format.
    pub fn to_text(&self) -> String {
        let mut s = String::from("# rsmbd users: name:rid:NT hash (MD4 of UTF-16LE password)\n");
        for u in self.users.values() {
            s.push_str(&format!("{}:{}:{}\n", u.name, u.rid, hex(&u.nt_hash)));
        }
        s
    }

    /// Writes the database atomically: a temporary file of mode 0600 in the same
    /// directory, fsync, rename over `path`, then fsync of the directory.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let _ = std::fs::remove_file(&tmp);
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(self.to_text().as_bytes())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return result;
        }
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn add_lookup_case_insensitive() {
        let mut db = UserDb::empty();
        db.add("Alice", "pw1").unwrap();
        db.add("bob", "pw2").unwrap();
        assert_eq!(db.lookup("ALICE").unwrap().rid, 1000);
        assert_eq!(db.lookup("Bob").unwrap().rid, 1001);
        assert_eq!(db.lookup("alice").unwrap().name, "Alice");
        db.add("alice", "new").unwrap();
        let a = db.lookup("Alice").unwrap();
        assert_eq!((a.rid, a.nt_hash), (1000, nt_hash("new")));
        assert!(db.remove("BOB"));
        assert!(!db.remove("bob"));
        db.add("carol", "x").unwrap();
        assert_eq!(db.lookup("carol").unwrap().rid, 1001);
        assert_eq!(db.users().count(), 2);
    }

    #[test]
    fn name_validation() {
        let mut db = UserDb::empty();
        assert!(db.add("", "x").is_err());
        assert!(db.add("a:b", "x").is_err());
        assert!(db.add("a\nb", "x").is_err());
        assert!(db.add(&"x".repeat(65), "x").is_err());
        assert!(db.add(&"é".repeat(64), "x").is_ok());
    }

    #[test]
    fn save_load_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let mut db = UserDb::empty();
        db.add("Alice", "Password").unwrap();
        db.add("bob", "").unwrap();
        db.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = UserDb::load(&path).unwrap();
        let a = back.lookup("alice").unwrap();
        assert_eq!(
            (a.name.as_str(), a.rid, a.nt_hash),
            ("Alice", 1000, nt_hash("Password"))
        );
        assert_eq!(back.lookup("BOB").unwrap().rid, 1001);
        // Saving again over an existing file works and leaves no temporary file.
        back.save(&path).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn load_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(UserDb::load(&dir.path().join("missing")).is_err());
        let path = dir.path().join("users");
        std::fs::write(
            &path,
            "# c\n\nalice:1000:a4f49c406510bdcab6824ee7c30fd852\nbob:x:00\n",
        )
        .unwrap();
        let e = UserDb::load(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("line 4"), "{e}");
        for bad in [
            "a:1",
            "a:1:zz",
            "a:1:00:extra",
            ":1:a4f49c406510bdcab6824ee7c30fd852",
        ] {
            let e = UserDb::parse(bad).unwrap_err();
            assert!(e.contains("line 1"), "{e}");
        }
        let e = UserDb::parse(
            "a:1:a4f49c406510bdcab6824ee7c30fd852\nA:2:a4f49c406510bdcab6824ee7c30fd852",
        )
        .unwrap_err();
        assert!(e.contains("line 2"));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = UserDb::parse(&s);
        }
    }
}
