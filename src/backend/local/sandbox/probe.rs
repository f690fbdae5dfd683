//! Whether this machine lets SageDesk make sandboxes, found once per process by making one
//! (a shell that exits at once), and when not, which setting refuses and how to allow it.

use std::sync::OnceLock;

use super::HostSandbox;

/// Whether hosts run in sandboxes here.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// Each host runs in its own namespaces, `/opt/ml` at its real path.
    Available,
    /// Namespaces are refused: `reason` says which setting and what to do.
    Refused {
        /// The setting, the system's error and the fix.
        reason: String,
    },
}

impl Availability {
    /// Whether sandboxes can be made.
    pub fn available(&self) -> bool {
        matches!(self, Availability::Available)
    }
}

/// This machine's answer, and whether sandboxes have user namespaces, found on first use.
fn found() -> &'static (Availability, bool) {
    static FOUND: OnceLock<(Availability, bool)> = OnceLock::new();
    FOUND.get_or_init(probe)
}

/// This machine's answer, found on first use.
pub fn availability() -> &'static Availability {
    &found().0
}

/// Whether sandboxes have a user namespace of their own: always, but for real root where
/// user namespaces are turned off, whose mount namespace alone makes the same sandbox.
pub fn user_namespaces() -> bool {
    found().1
}

fn probe() -> (Availability, bool) {
    let dir = std::env::temp_dir().join(format!("sagedesk-sandbox-probe-{}", std::process::id()));
    let with_user = probe_in(&dir, true);
    let found = if !with_user.available() && real_root() && probe_in(&dir, false).available() {
        (Availability::Available, false)
    } else {
        (with_user, true)
    };
    let _ = std::fs::remove_dir_all(&dir);
    found
}

/// Whether this process is root of the machine itself: uid 0 in the first user namespace
/// (that of process 1), not a user namespace's mapped root.
fn real_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let ns = |path: &str| std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
    root && ns("/proc/self/ns/user").is_some_and(|mine| ns("/proc/1/ns/user") == Some(mine))
}

/// Makes a sandbox over the empty folder `dir` (with a user namespace or not) and runs a
/// shell in it.
fn probe_in(dir: &std::path::Path, user_namespace: bool) -> Availability {
    let hosts = dir.join("hosts");
    let made = std::fs::create_dir_all(dir.join("ml"))
        .and_then(|()| std::fs::write(&hosts, "127.0.0.1\tlocalhost\n"));
    if let Err(e) = made {
        return Availability::Refused {
            reason: format!("cannot prepare a sandbox in {}: {e}", dir.display()),
        };
    }
    let sandbox = HostSandbox {
        hostname: "algo-1".into(),
        root: dir.join("ml"),
        hosts_file: hosts,
        cwd: "/".into(),
        staging: dir.join("opt"),
        user_namespace,
    };
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .args(["-c", ":"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let tried = sandbox
        .apply(command.as_std_mut())
        .and_then(|()| command.as_std_mut().status());
    match tried {
        Ok(status) if status.success() => Availability::Available,
        Ok(status) => Availability::Refused {
            reason: format!("a sandboxed shell ended with {status}"),
        },
        Err(e) => Availability::Refused {
            reason: refusal(&super::explain(&e).unwrap_or_else(|| e.to_string())),
        },
    }
}

/// Reads a kernel setting under `/proc/sys`.
fn setting(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|v| v.trim().to_string())
}

/// Which setting refused, and the fix, after the step's own error.
fn refusal(error: &str) -> String {
    let why = if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
        == Some("1")
    {
        "AppArmor restricts unprivileged user namespaces here \
         (kernel.apparmor_restrict_unprivileged_userns = 1, as on Ubuntu 24.04). The .deb \
         installs an AppArmor profile that allows them for /usr/bin/sagedesk; elsewhere run \
         `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`"
    } else if setting("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        "unprivileged user namespaces are turned off (kernel.unprivileged_userns_clone = 0): \
         run `sudo sysctl kernel.unprivileged_userns_clone=1`"
    } else if setting("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        "user namespaces are turned off (user.max_user_namespaces = 0): run \
         `sudo sysctl user.max_user_namespaces=15000`"
    } else {
        "user namespaces are not allowed here (a container without them, or a seccomp \
         policy): run SageDesk where they are, or give its container CAP_SYS_ADMIN"
    };
    format!(
        "{error}. {why}. Jobs run without a sandbox: folders are mapped by path and \
         announced in SM_* variables, and a ContainerEntrypoint job cannot run"
    )
}
