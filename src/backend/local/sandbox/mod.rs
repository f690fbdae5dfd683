//! Each host of a local job in a sandbox of its own, made the way bubblewrap makes one: no
//! daemon, no image, no root. The host's process gets new user, mount and UTS namespaces;
//! `/opt` becomes a fresh tmpfs that shows what `/opt` holds on this machine plus the host's
//! folder at `/opt/ml`; `/etc/hosts` names every host of the job at its own loopback address;
//! the hostname is `algo-N`. The rest of the file system, the network and the user are this
//! machine's. Everything happens in the child between `fork` and `exec` with system calls
//! alone (every path and byte is prepared before), and the mounts vanish with the
//! namespace when the host's last process ends, so nothing is left behind.
//!
//! Where namespaces are refused (`probe`), jobs run as before: folders mapped by path and
//! the `SM_*` variables.

mod enter;
mod probe;
mod steps;

pub use enter::{HOST_ENTRIES, HostEntry, enter_host};
pub use probe::{Availability, availability, user_namespaces};

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use self::steps::{Entry, Steps};

/// Where the host's folder is mounted: the container's path.
pub const OPT_ML: &str = "/opt/ml";

/// One host's sandbox, as the job asks for it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HostSandbox {
    /// `algo-N`.
    pub hostname: String,
    /// The host's folder, seen at `/opt/ml`.
    pub root: PathBuf,
    /// The job's hosts file, bound over `/etc/hosts`.
    pub hosts_file: PathBuf,
    /// The working folder inside the sandbox.
    pub cwd: PathBuf,
    /// An empty folder of the job's where this machine's `/opt` is shown while the
    /// sandbox's is made (only inside the sandbox's own mount namespace).
    pub staging: PathBuf,
    /// Whether the sandbox has a user namespace of its own: always, but for real root
    /// where user namespaces are turned off ([`user_namespaces`]), whose mount namespace
    /// alone makes the same sandbox.
    pub user_namespace: bool,
}

/// The loopback address of host `index` (0-based) of a job: 127.A.B.(index + 1), with A and
/// B taken from the job's name so that two jobs at once keep their addresses apart.
pub fn host_address(job: &str, index: usize) -> std::net::Ipv4Addr {
    // FNV-1a: stable across runs and builds.
    let hash = job.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let a = 100 + (hash % 100) as u8;
    let b = ((hash >> 8) % 256) as u8;
    std::net::Ipv4Addr::new(127, a, b, (index % 254 + 1) as u8)
}

/// The hosts file of a job: this machine's own entries after each host's name and address
/// (first, so they win), with `localhost` kept.
pub fn hosts_file(job: &str, hosts: &[String], system: &str) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (i, host) in hosts.iter().enumerate() {
        text.push_str(&format!("{}\t{host}\n", host_address(job, i)));
    }
    text.push_str("# this machine's own entries\n");
    for line in system.lines() {
        let names_a_host = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .any(|name| hosts.iter().any(|h| h == name));
        if !names_a_host {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

impl HostSandbox {
    /// Makes `command` start in this sandbox. Its working folder is the sandbox's `cwd`
    /// (set here; `current_dir` must not be set). Fails when this machine's `/opt` cannot be
    /// read.
    pub fn apply(&self, command: &mut std::process::Command) -> io::Result<()> {
        use std::os::unix::process::CommandExt;
        let steps = self.steps()?;
        // SAFETY: the closure makes system calls only, on memory prepared before the fork
        // (`Steps` allocates nothing in `run`), as `pre_exec` requires.
        unsafe {
            command.pre_exec(move || steps.run());
        }
        Ok(())
    }

    /// Every path and byte the child needs, prepared in this process.
    fn steps(&self) -> io::Result<Steps> {
        let opt = Path::new("/opt");
        let mut entries = Vec::new();
        if opt.is_dir() {
            for entry in std::fs::read_dir(opt)? {
                let entry = entry?;
                let name = entry.file_name();
                if name == "ml" {
                    continue;
                }
                let kind = entry.file_type()?;
                let target = opt.join(&name);
                entries.push(if kind.is_symlink() {
                    Entry::Link {
                        target: c(&target)?,
                        points_to: c(&std::fs::read_link(entry.path())?)?,
                    }
                } else {
                    Entry::Bind {
                        source: c(&self.staging.join(&name))?,
                        target: c(&target)?,
                        dir: kind.is_dir(),
                    }
                });
            }
        }
        std::fs::create_dir_all(&self.staging)?;
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Steps {
            user_namespace: self.user_namespace,
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            staging: c(&self.staging)?,
            opt_exists: opt.is_dir(),
            entries,
            root: c(&self.root)?,
            hosts_file: c(&self.hosts_file)?,
            hostname: self.hostname.clone().into_bytes(),
            cwd: c(&self.cwd)?,
        })
    }
}

fn c(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} holds a NUL byte", path.display()),
        )
    })
}

/// What a sandbox's failure to start means, from the error `spawn` returned: the step that
/// failed and the system's reason.
pub fn explain(error: &io::Error) -> Option<String> {
    let code = error.raw_os_error()?;
    let (step, errno) = steps::decode(code)?;
    Some(format!(
        "the sandbox could not {step}: {}",
        io::Error::from_raw_os_error(errno)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_jobs_keep_their_addresses_apart_and_hosts_follow_each_other() {
        let a1 = host_address("job-a", 0);
        let a2 = host_address("job-a", 1);
        assert_eq!(a1.octets()[..3], a2.octets()[..3]);
        assert_eq!((a1.octets()[3], a2.octets()[3]), (1, 2));
        assert_ne!(host_address("job-b", 0), a1);
        assert!(a1.is_loopback());
    }

    #[test]
    fn the_hosts_file_names_every_host_first_and_drops_clashing_lines() {
        let hosts = vec!["algo-1".to_string(), "algo-2".to_string()];
        let text = hosts_file("j", &hosts, "127.0.1.1 desk\n10.0.0.9 algo-2 # old\n");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].ends_with("\talgo-1"));
        assert!(lines[3].ends_with("\talgo-2"));
        assert!(text.contains("127.0.1.1 desk"));
        assert!(!text.contains("10.0.0.9"));
    }
}
