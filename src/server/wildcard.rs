//! Name matching for QUERY_DIRECTORY search patterns, as MS-FSA 2.1.4.4 ("Algorithm for
//! Determining if a FileName Is in an Expression") defines it, case-insensitively
//! (MS-SMB2 3.3.5.17 asks for case-insensitive matching unless the share is case-sensitive).
//!
//! Wildcards (MS-FSA 2.1.4.4):
//! - `*` matches zero or more characters;
//! - `?` matches exactly one character;
//! - `<` (DOS_STAR) matches zero or more characters up to, but not past, the last `.` of the
//!   name (it may consume a `.` only when another `.` follows later in the name);
//! - `>` (DOS_QM) matches any one character; at a `.` or at the end of the name it matches
//!   nothing (so a run of them matches up to as many characters before the period);
//! - `"` (DOS_DOT) matches a `.`, or nothing at the end of the name.
//!
//! The matcher simulates the pattern as a non-deterministic automaton: a set of pattern
//! positions advanced one name character at a time, so time is O(pattern × name) and memory
//! O(pattern), with no recursion (patterns come from the wire and may be 32 KiB long).

/// A compiled search pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Upper-cased pattern characters, runs of `*` collapsed to one.
    chars: Vec<char>,
    /// Case-sensitive matching (a case-sensitive share).
    case_sensitive: bool,
    /// The pattern matches every name (`*` or empty: the common fast path).
    all: bool,
    /// The pattern has no wildcard character.
    literal: bool,
}

fn fold(c: char, case_sensitive: bool) -> char {
    if case_sensitive {
        return c;
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn is_wild(c: char) -> bool {
    matches!(c, '*' | '?' | '<' | '>' | '"')
}

impl Pattern {
    /// Compiles `pattern`. An empty pattern matches everything (clients send `*`, but
    /// Windows treats an empty FileName like `*`).
    pub fn new(pattern: &str, case_sensitive: bool) -> Pattern {
        let mut chars: Vec<char> = Vec::with_capacity(pattern.len());
        for c in pattern.chars() {
            if c == '*' && chars.last() == Some(&'*') {
                continue;
            }
            chars.push(fold(c, case_sensitive));
        }
        let all = chars.is_empty() || chars == ['*'];
        let literal = !chars.iter().any(|c| is_wild(*c));
        Pattern {
            chars,
            case_sensitive,
            all,
            literal,
        }
    }

    /// True when the pattern matches every name.
    pub fn matches_all(&self) -> bool {
        self.all
    }

    /// True when the pattern has no wildcard: it names one entry.
    pub fn is_literal(&self) -> bool {
        self.literal && !self.chars.is_empty()
    }

    /// Whether `name` is in the expression (MS-FSA 2.1.4.4).
    pub fn matches(&self, name: &str) -> bool {
        if self.all {
            return true;
        }
        let name: Vec<char> = name.chars().map(|c| fold(c, self.case_sensitive)).collect();
        if self.literal {
            return name == self.chars;
        }
        let p = &self.chars;
        let plen = p.len();
        // Position of the last '.' in the name (DOS_STAR may not consume it).
        let last_dot = name.iter().rposition(|c| *c == '.');
        let mut cur = vec![false; plen + 1];
        let mut next = vec![false; plen + 1];
        cur[0] = true;
        closure(p, &mut cur, name.first().copied());
        for (n, &c) in name.iter().enumerate() {
            next.iter_mut().for_each(|x| *x = false);
            let mut any = false;
            for i in 0..plen {
                if !cur[i] {
                    continue;
                }
                let to = match p[i] {
                    '*' => Some(i),
                    '<' if c != '.' || last_dot.is_some_and(|d| d > n) => Some(i),
                    '<' => None,
                    '?' => Some(i + 1),
                    '>' if c != '.' => Some(i + 1),
                    '>' => None,
                    '"' if c == '.' => Some(i + 1),
                    '"' => None,
                    lit if lit == c => Some(i + 1),
                    _ => None,
                };
                if let Some(t) = to {
                    next[t] = true;
                    any = true;
                }
            }
            if !any {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
            closure(p, &mut cur, name.get(n + 1).copied());
        }
        cur[plen]
    }
}

/// Adds the positions reachable without consuming a character, given the next name character
/// (`None` at the end of the name). Positions only move forward, so one pass suffices.
fn closure(p: &[char], set: &mut [bool], next: Option<char>) {
    for i in 0..p.len() {
        if !set[i] {
            continue;
        }
        let skip = match p[i] {
            '*' | '<' => true,
            '>' => next.is_none() || next == Some('.'),
            '"' => next.is_none(),
            _ => false,
        };
        if skip {
            set[i + 1] = true;
        }
    }
}

/// Whether `name` matches `pattern` (compiles the pattern; use [`Pattern`] for many names).
pub fn is_in_expression(name: &str, pattern: &str, case_sensitive: bool) -> bool {
    Pattern::new(pattern, case_sensitive).matches(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(name: &str, pat: &str) -> bool {
        is_in_expression(name, pat, false)
    }

    #[test]
    fn star_and_question() {
        assert!(m("abc.txt", "*"));
        assert!(m("", "*"));
        assert!(m("abc.txt", "*.txt"));
        assert!(m("ABC.TXT", "*.txt"));
        assert!(!m("abc.txt", "*.doc"));
        assert!(m("abc.txt", "a?c.txt"));
        assert!(!m("ac.txt", "a?c.txt"));
        assert!(m("abc", "*c"));
        assert!(m("abc", "a*"));
        assert!(m("abc", "a**c"));
        assert!(m("abc", "***"));
        assert!(!m("abc", "abcd"));
        assert!(m("aXbXc", "a*b*c"));
        assert!(!m("aXbX", "a*b*c"));
        assert!(m("a.b.c", "*.*"));
        assert!(
            !m("abc", "*.*"),
            "no special case: clients map *.* to * themselves"
        );
    }

    #[test]
    fn literal_is_case_insensitive() {
        assert!(m("Hello.TXT", "hello.txt"));
        assert!(!is_in_expression("Hello.TXT", "hello.txt", true));
        assert!(is_in_expression("Hello.TXT", "Hello.TXT", true));
        assert!(!m("straße", "STRASSE"));
        assert!(m("ÄÖÜ", "äöü"));
        assert!(Pattern::new("abc", false).is_literal());
        assert!(!Pattern::new("a*c", false).is_literal());
    }

    #[test]
    fn dos_star() {
        // "<" matches up to (not past) the last '.'.
        assert!(m("foo.txt", "<.txt"));
        assert!(m("foo.bar.txt", "<.txt"));
        assert!(
            !m("foo.txt", "<"),
            "'<' alone may not consume the final dot"
        );
        assert!(m("foo", "<"));
        assert!(m("foo.bar.txt", "<.bar.txt"));
        assert!(m("foo.bar.txt", "<.<"));
        assert!(!m("foo.bar", "<x"));
        // DOS "*.*" as sent by old clients: "<\".<"
        assert!(m("foo.txt", "<\"<"));
        assert!(m("foo", "<\"<"));
        assert!(m("a.b.c", "<\"<"));
    }

    #[test]
    fn dos_qm() {
        assert!(m("ab.txt", ">>.txt"));
        assert!(m("a.txt", ">>.txt"), "'>' matches nothing before a dot");
        assert!(!m("abc.txt", ">>.txt"));
        assert!(m("ab", ">>>"), "'>' matches nothing at the end");
        assert!(m("", ">"));
        assert!(!m(".", ">"), "'>' does not match a dot");
        assert!(m("abcdefgh.txt", ">>>>>>>>.>>>"));
        assert!(m("abc.t", ">>>>>>>>.>>>"));
        assert!(!m("abcdefghi.txt", ">>>>>>>>.>>>"));
    }

    #[test]
    fn dos_dot() {
        assert!(m("foo.", "foo\""));
        assert!(
            m("foo", "foo\""),
            "'\"' matches nothing at the end of the name"
        );
        assert!(!m("foox", "foo\""));
        assert!(m("foo.txt", "foo\"txt"));
        assert!(!m("footxt", "foo\"txt"));
        // "foo.*" the DOS way: foo"<
        assert!(m("foo", "foo\"<"));
        assert!(m("foo.bar", "foo\"<"));
    }

    #[test]
    fn long_pattern_no_blowup() {
        let pat = "*a".repeat(5000);
        assert!(!m(&"a".repeat(200), &pat));
        let pat = "<".repeat(30000);
        assert!(m(&"b".repeat(255), &pat));
    }

    proptest! {
        #[test]
        fn never_panics_and_literal_matches_itself(name in "[a-zA-Z0-9 ._~-]{0,40}", pat in "[a-z*?<>\".]{0,20}") {
            let _ = m(&name, &pat);
            if !name.chars().any(is_wild) {
                prop_assert!(m(&name, &name.to_uppercase()));
                prop_assert!(m(&name, "*"));
            }
        }
    }
}
