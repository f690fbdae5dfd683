//! The sandbox's making, run in the child between `fork` and `exec`: system calls only, on
//! memory prepared before the fork. A failed step returns its number and the system's
//! error in one code (`STEP * step + errno`), which `spawn` hands back to the parent.

use std::ffi::CString;
use std::io;

/// What separates a step's number from the system's error in a code.
const STEP: i32 = 10_000;

/// One entry of this machine's `/opt`, shown again on the sandbox's `/opt`.
#[derive(Debug)]
pub(super) enum Entry {
    /// A folder or file, bound from this machine's `/opt` as shown at the staging folder.
    Bind {
        source: CString,
        target: CString,
        dir: bool,
    },
    /// A symbolic link, made again.
    Link { target: CString, points_to: CString },
}

/// Everything the child does, prepared.
#[derive(Debug)]
pub(super) struct Steps {
    /// Whether a user namespace is made (not for real root where they are turned off).
    pub(super) user_namespace: bool,
    pub(super) uid_map: Vec<u8>,
    pub(super) gid_map: Vec<u8>,
    /// Where this machine's `/opt` is shown while the sandbox's is made (an empty folder
    /// of the job's), so its entries can be bound once `/opt` is covered.
    pub(super) staging: CString,
    pub(super) opt_exists: bool,
    pub(super) entries: Vec<Entry>,
    pub(super) root: CString,
    pub(super) hosts_file: CString,
    pub(super) hostname: Vec<u8>,
    pub(super) cwd: CString,
}

/// The steps, by number, as said in a failure.
const WHAT: [&str; 10] = [
    "make its namespaces (user, mount, UTS)",
    "map the user into its user namespace",
    "make its mounts private",
    "find /opt on this machine and show it while the sandbox is made",
    "mount a tmpfs on /opt",
    "show this machine's /opt entries",
    "make /opt/ml",
    "mount the host's folder at /opt/ml",
    "bind the job's hosts file over /etc/hosts",
    "set the host name or enter the working folder",
];

/// The step and the system's error a code stands for, if it is a sandbox's.
pub(super) fn decode(code: i32) -> Option<(&'static str, i32)> {
    let step = usize::try_from(code / STEP).ok()?;
    let what = WHAT.get(step.checked_sub(1)?)?;
    Some((what, code % STEP))
}

fn fail(step: i32) -> io::Error {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    io::Error::from_raw_os_error(step * STEP + errno.clamp(0, STEP - 1))
}

fn check(step: i32, result: libc::c_int) -> io::Result<()> {
    if result < 0 { Err(fail(step)) } else { Ok(()) }
}

/// Writes `bytes` to the file at `path` (a `/proc` file: one write).
fn write_file(step: i32, path: &[u8], bytes: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated by the caller; the buffer outlives the calls.
    unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(fail(step));
        }
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        if written < 0 {
            return Err(fail(step));
        }
    }
    Ok(())
}

fn mount(
    step: i32,
    source: *const libc::c_char,
    target: *const libc::c_char,
    fstype: *const libc::c_char,
    flags: libc::c_ulong,
    data: *const libc::c_char,
) -> io::Result<()> {
    // SAFETY: every pointer is null or a NUL-terminated string the caller keeps alive.
    check(step, unsafe {
        libc::mount(source, target, fstype, flags, data.cast())
    })
}

impl Steps {
    /// Makes the sandbox in the calling (child) process.
    pub(super) fn run(&self) -> io::Result<()> {
        let null = std::ptr::null::<libc::c_char>();
        let user = if self.user_namespace {
            libc::CLONE_NEWUSER
        } else {
            0
        };
        // SAFETY: unshare takes flags only.
        check(1, unsafe {
            libc::unshare(user | libc::CLONE_NEWNS | libc::CLONE_NEWUTS)
        })?;
        if self.user_namespace {
            write_file(2, b"/proc/self/setgroups\0", b"deny")?;
            write_file(2, b"/proc/self/uid_map\0", &self.uid_map)?;
            write_file(2, b"/proc/self/gid_map\0", &self.gid_map)?;
        }
        mount(
            3,
            null,
            c"/".as_ptr(),
            null,
            libc::MS_REC | libc::MS_PRIVATE,
            null,
        )?;
        if !self.opt_exists {
            // SAFETY: sets errno only, for the message.
            unsafe { *libc::__errno_location() = libc::ENOENT };
            return Err(fail(4));
        }
        mount(
            4,
            c"/opt".as_ptr(),
            self.staging.as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            null,
        )?;
        mount(
            5,
            c"tmpfs".as_ptr(),
            c"/opt".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            c"mode=0755".as_ptr(),
        )?;
        for entry in &self.entries {
            self.show(entry)?;
        }
        // SAFETY: a NUL-terminated string; the staging mount was made above.
        check(6, unsafe {
            libc::umount2(self.staging.as_ptr(), libc::MNT_DETACH)
        })?;
        // SAFETY: a NUL-terminated literal.
        check(7, unsafe { libc::mkdir(c"/opt/ml".as_ptr(), 0o755) })?;
        mount(
            8,
            self.root.as_ptr(),
            c"/opt/ml".as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            null,
        )?;
        mount(
            9,
            self.hosts_file.as_ptr(),
            c"/etc/hosts".as_ptr(),
            null,
            libc::MS_BIND,
            null,
        )?;
        // SAFETY: the buffer outlives the call; chdir takes a NUL-terminated string.
        check(10, unsafe {
            libc::sethostname(self.hostname.as_ptr().cast(), self.hostname.len())
        })?;
        check(10, unsafe { libc::chdir(self.cwd.as_ptr()) })?;
        Ok(())
    }

    /// Shows one entry of this machine's `/opt` on the sandbox's.
    fn show(&self, entry: &Entry) -> io::Result<()> {
        let null = std::ptr::null::<libc::c_char>();
        match entry {
            Entry::Link { target, points_to } => {
                // SAFETY: both strings are NUL-terminated and alive.
                check(6, unsafe {
                    libc::symlink(points_to.as_ptr(), target.as_ptr())
                })
            }
            Entry::Bind {
                source,
                target,
                dir,
            } => {
                // SAFETY: NUL-terminated strings; the file descriptor is closed at once.
                let made = unsafe {
                    if *dir {
                        libc::mkdir(target.as_ptr(), 0o755)
                    } else {
                        let fd = libc::open(
                            target.as_ptr(),
                            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                            0o644,
                        );
                        if fd >= 0 {
                            libc::close(fd);
                        }
                        fd
                    }
                };
                check(6, made)?;
                mount(
                    6,
                    source.as_ptr(),
                    target.as_ptr(),
                    null,
                    libc::MS_BIND | libc::MS_REC,
                    null,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_names_its_step_and_the_systems_error() {
        let (what, errno) = decode(8 * STEP + libc::EPERM).unwrap();
        assert_eq!(what, "mount the host's folder at /opt/ml");
        assert_eq!(errno, libc::EPERM);
        assert!(decode(libc::ENOENT).is_none());
        assert!(decode(99 * STEP).is_none());
    }
}
