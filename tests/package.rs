//! The .deb as `packaging/build-deb.sh` makes it (from the binary this test run built,
//! with cargo-deb installed by the script when missing): its files listed with
//! `dpkg-deb --contents`, unpacked with `dpkg-deb -x` into a temporary root and run from
//! there; the desktop entry and metainfo validated where the validators are installed.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_deb_holds_the_binary_desktop_entry_metainfo_and_icons_and_runs_unpacked() {
    if !have("dpkg-deb") {
        eprintln!("dpkg-deb is not installed: no .deb to check on this system");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = Path::new(env!("CARGO_BIN_EXE_sagedesk"));
    // target/<profile>/sagedesk: the target folder this run built into.
    let target_dir = binary.parent().and_then(Path::parent).unwrap();
    let out = tempfile::tempdir().unwrap();
    let made = Command::new("bash")
        .arg(root.join("packaging/build-deb.sh"))
        .args(["--profile", "dev", "--no-build", "--fast", "--output"])
        .arg(out.path())
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let deb = Path::new(stdout.trim());
    assert!(deb.is_file(), "{stdout}");

    let contents = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&contents.stdout);
    let mut expected = vec![
        "./usr/bin/sagedesk".to_string(),
        "./usr/share/applications/sagedesk.desktop".into(),
        "./usr/share/metainfo/io.github.sagedesk.SageDesk.metainfo.xml".into(),
        "./usr/share/icons/hicolor/scalable/apps/sagedesk.svg".into(),
        "./usr/share/sagedesk/apparmor/sagedesk".into(),
    ];
    for size in [16, 32, 48, 64, 128, 256, 512] {
        expected.push(format!(
            "./usr/share/icons/hicolor/{size}x{size}/apps/sagedesk.png"
        ));
    }
    for path in &expected {
        assert!(
            listing.lines().any(|l| l.ends_with(path.as_str())),
            "{path} not in\n{listing}"
        );
    }
    let info = Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Package: sagedesk") && info.contains("libgl1"),
        "{info}"
    );
    // The sandbox's AppArmor profile is put in place and loaded when the package is
    // configured (where AppArmor 4 restricts user namespaces), and removed with it.
    assert!(
        info.contains("postinst") && info.contains("postrm"),
        "{info}"
    );

    let unpacked = out.path().join("root");
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let version = Command::new(unpacked.join("usr/bin/sagedesk"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("sagedesk "),
        "{version:?}"
    );
    let png =
        std::fs::read(unpacked.join("usr/share/icons/hicolor/48x48/apps/sagedesk.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let entry = unpacked.join("usr/share/applications/sagedesk.desktop");
    let metainfo = unpacked.join("usr/share/metainfo/io.github.sagedesk.SageDesk.metainfo.xml");
    if have("desktop-file-validate") {
        let checked = Command::new("desktop-file-validate")
            .arg(&entry)
            .output()
            .unwrap();
        assert!(checked.status.success(), "{checked:?}");
    }
    if have("appstreamcli") {
        let checked = Command::new("appstreamcli")
            .args(["validate", "--no-net"])
            .arg(&metainfo)
            .output()
            .unwrap();
        assert!(checked.status.success(), "{checked:?}");
    }
}
