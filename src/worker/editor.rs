//! How a file is opened in the user's editor at a line: `$VISUAL`, else `$EDITOR` (a
//! terminal editor in a terminal window), else VS Code (`code -g file:line`) where it is
//! installed, else the desktop's handler for the file.

use std::path::Path;

/// Editors that need a terminal.
const IN_TERMINAL: [&str; 9] = [
    "vi", "vim", "nvim", "nano", "emacs", "micro", "hx", "helix", "kak",
];
/// Terminal programs that run a command after `-e`, most general first.
pub const TERMINALS: [&str; 5] = [
    "x-terminal-emulator",
    "gnome-terminal",
    "konsole",
    "xfce4-terminal",
    "xterm",
];

/// Editors that take `-g file:line`.
const GOTO: [&str; 3] = ["code", "codium", "code-insiders"];

/// What the machine offers to open a file with.
pub struct Editors<'a> {
    /// `$VISUAL`, else `$EDITOR`, as the user wrote it (`"code --wait"`, `vim`).
    pub chosen: Option<&'a str>,
    /// Whether `code` is on `PATH`.
    pub code: bool,
    /// A terminal that runs a command (`x-terminal-emulator`), if there is one.
    pub terminal: Option<&'a str>,
}

/// The command line that opens `file` at `line`.
pub fn command(editors: &Editors, file: &Path, line: u32) -> Vec<String> {
    let file = file.display().to_string();
    if let Some(chosen) = editors.chosen.filter(|c| !c.trim().is_empty()) {
        let mut words: Vec<String> = chosen.split_whitespace().map(String::from).collect();
        let name = Path::new(&words[0])
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if GOTO.contains(&name.as_str()) {
            words.retain(|w| w != "--wait" && w != "-w");
            words.extend(["-g".into(), format!("{file}:{line}")]);
            return words;
        }
        words.extend([format!("+{line}"), file]);
        if IN_TERMINAL.contains(&name.as_str())
            && let Some(terminal) = editors.terminal
        {
            let mut run = vec![terminal.to_string(), "-e".into()];
            run.extend(words);
            return run;
        }
        return words;
    }
    if editors.code {
        return vec!["code".into(), "-g".into(), format!("{file}:{line}")];
    }
    vec!["xdg-open".into(), file]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(chosen: Option<&str>, code: bool, terminal: Option<&str>) -> Vec<String> {
        let editors = Editors {
            chosen,
            code,
            terminal,
        };
        command(&editors, Path::new("/c/train.py"), 12)
    }

    #[test]
    fn the_users_editor_first_then_vs_code_then_the_desktop() {
        assert_eq!(
            open(Some("code --wait"), false, None),
            ["code", "-g", "/c/train.py:12"]
        );
        assert_eq!(
            open(Some("vim"), true, Some("x-terminal-emulator")),
            ["x-terminal-emulator", "-e", "vim", "+12", "/c/train.py"]
        );
        assert_eq!(
            open(Some("gedit"), true, None),
            ["gedit", "+12", "/c/train.py"]
        );
        assert_eq!(open(None, true, None), ["code", "-g", "/c/train.py:12"]);
        assert_eq!(open(None, false, None), ["xdg-open", "/c/train.py"]);
    }
}
