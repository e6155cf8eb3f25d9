//! CPU time accounting: the server's from /proc (the process and every descendant, which
//! covers Samba's forked per-connection smbd processes; a process's /proc/<pid>/stat sums
//! all its threads, exited ones included), the client's from getrusage(RUSAGE_SELF).

use std::collections::HashMap;
use std::fs;

/// Seconds per clock tick of /proc/<pid>/stat.
fn tick() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1.0 / if t > 0 { t as f64 } else { 100.0 }
}

/// One process as /proc/<pid>/stat shows it.
struct ProcStat {
    ppid: u32,
    /// starttime: tells a reused pid from the process that had it before.
    start: u64,
    /// utime + stime of all its threads, live and exited, in ticks.
    ticks: u64,
}

fn stat(pid: u32) -> Option<ProcStat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): ppid is field 4, utime/stime 14/15, starttime 22.
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        ppid: num(4)? as u32,
        start: num(22)?,
        ticks: num(14)? + num(15)?,
    })
}

/// CPU ticks of a process tree at one moment, per process.
pub struct TreeSample(HashMap<(u32, u64), u64>);

/// Samples `pid` and its descendants (Samba forks one smbd per connection); `None` when
/// `pid` does not exist.
pub fn sample_tree(pid: u32) -> Option<TreeSample> {
    let root = stat(pid)?;
    let mut children: HashMap<u32, Vec<(u32, ProcStat)>> = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(st) = stat(p) {
                children.entry(st.ppid).or_default().push((p, st));
            }
        }
    }
    let mut out = HashMap::new();
    out.insert((pid, root.start), root.ticks);
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        for (k, st) in children.get(&p).map(Vec::as_slice).unwrap_or_default() {
            out.insert((*k, st.start), st.ticks);
            stack.push(*k);
        }
    }
    Some(TreeSample(out))
}

/// CPU seconds the tree used between two samples: the growth of every process present at
/// the end (all of it for processes born in between). Processes that ended in between are
/// left out rather than trusted to the parent's cutime, which misses children that are
/// auto-reaped or not yet waited for.
pub fn tree_seconds_between(a: &TreeSample, b: &TreeSample) -> f64 {
    let ticks: u64 =
        b.0.iter()
            .map(|(k, &t)| t.saturating_sub(a.0.get(k).copied().unwrap_or(0)))
            .sum();
    ticks as f64 * tick()
}

/// CPU seconds (user + system) used so far by this process, all threads.
pub fn self_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
