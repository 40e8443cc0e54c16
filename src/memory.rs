//! How much memory this process may use: the machine's, or its control group's limit when
//! that is lower (a container's `--memory`, a systemd unit's `MemoryMax=`). Buffers that
//! trade memory for speed are sized from it, so that a small container streams instead of
//! being killed.
//!
//! The limit is read where Linux shows it, cgroup v2 then v1, for the group
//! `/proc/self/cgroup` names (`0::/user.slice/…` and `4:memory:/docker/…`) and at the
//! hierarchy's root (a container sees its own group there):
//!
//! ```text
//! /sys/fs/cgroup/user.slice/…/memory.max            max | 1073741824
//! /sys/fs/cgroup/memory/docker/…/memory.limit_in_bytes  9223372036854771712 (no limit)
//! ```

use std::path::Path;

/// The memory this process may use, in bytes; `None` where the system does not say.
pub fn available() -> Option<u64> {
    let machine = physical();
    let group = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|groups| group_limit(&groups, Path::new("/sys/fs/cgroup")));
    machine.into_iter().chain(group).min()
}

/// The machine's memory.
fn physical() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf reads system parameters; it touches no memory of ours.
        let (pages, page) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        (pages > 0 && page > 0).then(|| (pages as u64).saturating_mul(page as u64))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The lowest memory limit among the control groups `groups` (the text of
/// `/proc/self/cgroup`) names, read below `root`; `None` when none is set.
fn group_limit(groups: &str, root: &Path) -> Option<u64> {
    let mut files = Vec::new();
    for line in groups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            files.push(root.join(path).join("memory.max"));
            files.push(root.join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            let memory = root.join("memory");
            files.push(memory.join(path).join("memory.limit_in_bytes"));
            files.push(memory.join("memory.limit_in_bytes"));
        }
    }
    (files.iter())
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|text| limit(&text))
        .min()
}

/// A limit file's value: bytes, or `None` for no limit (`max`; v1 writes a number near
/// 2^63 rounded to pages).
fn limit(text: &str) -> Option<u64> {
    let n: u64 = text.trim().parse().ok()?;
    (n < 1 << 62).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 group's `memory.max`, a v1 group's `memory.limit_in_bytes`, the lower of the
    /// two, a root's own file, and no limit (`max`, v1's near-2^63, no file).
    #[test]
    fn limits_are_read_from_the_groups_named() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("user.slice/a.scope/memory.max", "1073741824\n");
        write("memory/docker/c1/memory.limit_in_bytes", "536870912\n");
        write("memory/free/memory.limit_in_bytes", "9223372036854771712\n");
        write("open/memory.max", "max\n");
        let at = |groups: &str| group_limit(groups, root.path());
        assert_eq!(at("0::/user.slice/a.scope\n"), Some(1 << 30));
        assert_eq!(at("4:memory:/docker/c1\n"), Some(1 << 29));
        assert_eq!(
            at("4:cpu,memory:/docker/c1\n0::/user.slice/a.scope\n"),
            Some(1 << 29)
        );
        assert_eq!(at("4:memory:/free\n0::/open\n"), None);
        assert_eq!(at("3:cpuset:/docker/c1\n0::/nowhere\n"), None);
        assert_eq!(at("not a cgroup line\n"), None);
        write("memory.max", "268435456");
        assert_eq!(at("0::/\n"), Some(1 << 28));
        assert!(available().is_some_and(|m| m > 0));
    }
}
