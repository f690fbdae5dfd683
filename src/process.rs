//! Process identity and signals: enough to tell a live supervisor from a reused pid,
//! and to signal a job's whole process group.

/// The process's start time in clock ticks after boot, from `/proc/<pid>/stat`.
/// Together with the pid it names one process for its whole life.
pub fn start_time(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    // `rest` starts at field 3 (state); the start time is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` is still running (and not a zombie).
pub fn is_alive(pid: i64, start: i64) -> bool {
    if std::path::Path::new("/proc/self/stat").exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = s[s.rfind(')')? + 2..].to_string();
                rest.chars().next()
            });
        state.is_some_and(|c| c != 'Z') && start_time(pid) == Some(start)
    } else {
        // Without /proc the start time is unknown: trust the pid alone.
        unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
    }
}

/// Makes `command` start its process in a session of its own, so that closing the window
/// or terminal that started it neither stops nor signals it.
pub fn in_new_session(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `setsid` is async-signal-safe and touches no memory of this process.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// This process's pid and start time.
pub fn current() -> (i64, i64) {
    let pid = std::process::id() as i64;
    (pid, start_time(pid).unwrap_or(0))
}

/// Sends `signal` to the process group led by `pgid`. Returns false when none is left.
pub fn signal_group(pgid: i64, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) == 0 }
}

/// The environment variable every process of a local job carries, set to the job's folder:
/// how the job's processes are found when they left its process groups.
pub const JOB_MARK: &str = "SAGEDESK_JOB";

/// Kills every process (but this one) whose environment holds `JOB_MARK=mark`, passing
/// over `/proc` until a pass finds none (at most a few: a process may fork meanwhile).
/// Returns how many were killed.
pub fn kill_marked(mark: &str) -> usize {
    let entry = format!("{JOB_MARK}={mark}");
    let own = std::process::id();
    let mut killed = 0;
    for _ in 0..4 {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return killed;
        };
        let mut found = 0;
        for proc in dir.flatten() {
            let Some(pid) = proc
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == own {
                continue;
            }
            let Ok(environ) = std::fs::read(proc.path().join("environ")) else {
                continue;
            };
            if environ.split(|b| *b == 0).any(|e| e == entry.as_bytes()) {
                // SAFETY: kill takes a pid and a signal and touches no memory of ours.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                found += 1;
            }
        }
        killed += found;
        if found == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed
}

/// `SIGTERM`.
pub const SIGTERM: i32 = libc::SIGTERM;
/// `SIGKILL`.
pub const SIGKILL: i32 = libc::SIGKILL;

/// The resolved file a program name runs, with its size and modification time: a new stamp
/// when the program is replaced or upgraded.
pub fn stamp(program: &std::path::Path) -> Option<String> {
    let file = which(program)?;
    let resolved = std::fs::canonicalize(&file).unwrap_or(file);
    let meta = std::fs::metadata(&resolved).ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(format!("{}:{}:{modified}", resolved.display(), meta.len()))
}

/// The file a program name runs: itself when it holds a `/`, else the first executable
/// of that name on `PATH`.
pub fn which(program: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
