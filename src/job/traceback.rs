//! A Python traceback found in a job's log: the last one a host printed (after chained
//! exceptions, the one raised last), its frames in the order Python prints them and the
//! exception line. Only what the log says: no file or line is ever guessed.

use serde::Serialize;

/// One frame: `File "<file>", line <line>, in <function>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// The path as logged.
    pub file: String,
    pub line: u32,
    pub function: String,
    /// Where the user has that file, when it maps to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}

/// A traceback: its frames, outermost first, and the exception line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Traceback {
    pub frames: Vec<Frame>,
    /// `ValueError: bad value`, as printed (the first line of a multi-line message).
    pub exception: Option<String>,
}

const START: &str = "Traceback (most recent call last):";

/// The last traceback in `lines` (one host's lines, in order), if there is one. Lines may
/// carry a prefix (Open MPI's `[1,0]<stderr>:`), which is kept out of the frames.
pub fn last_traceback<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Traceback> {
    let lines: Vec<&str> = lines.into_iter().collect();
    let start = lines.iter().rposition(|l| l.contains(START))?;
    let prefix_len = lines[start].find(START).unwrap_or(0);
    let mut traceback = Traceback::default();
    let mut rest = lines[start + 1..].iter().map(|l| strip(l, prefix_len));
    let mut pending: Option<&str> = rest.next();
    while let Some(line) = pending.take() {
        if let Some(frame) = frame(line) {
            traceback.frames.push(frame);
            pending = rest.next();
            continue;
        }
        let trimmed = line.trim_end();
        if line.starts_with(' ') || line.starts_with('\t') || trimmed.is_empty() {
            // A frame's source line, a caret line, or a blank line.
            pending = rest.next();
            continue;
        }
        traceback.exception = Some(trimmed.to_string());
        break;
    }
    (!traceback.frames.is_empty() || traceback.exception.is_some()).then_some(traceback)
}

/// `line` without the first `len` bytes when they are a prefix other lines share.
fn strip(line: &str, len: usize) -> &str {
    if len > 0 && line.len() >= len && line.is_char_boundary(len) {
        &line[len..]
    } else {
        line
    }
}

/// `  File "<file>", line <n>, in <function>`.
fn frame(line: &str) -> Option<Frame> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once("\", line ")?;
    let (number, function) = match rest.split_once(", in ") {
        Some((n, f)) => (n, f.trim_end()),
        None => (rest.trim_end(), ""),
    };
    Some(Frame {
        file: file.to_string(),
        line: number.trim().parse().ok()?,
        function: function.to_string(),
        local: None,
    })
}

/// The exception's class name: `ValueError` of `ValueError: bad`, `torch.OutOfMemoryError`
/// of `torch.OutOfMemoryError: CUDA out of memory`.
pub fn exception_class(exception: &str) -> &str {
    exception
        .split_once(':')
        .map_or(exception, |(class, _)| class)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_of_chained_tracebacks_wins_and_frames_keep_python_order() {
        let log = r#"loading
Traceback (most recent call last):
  File "/opt/ml/code/train.py", line 3, in <module>
    import nothing
ModuleNotFoundError: No module named 'nothing'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/opt/ml/code/train.py", line 9, in <module>
    main()
  File "/opt/ml/code/pkg/model.py", line 42, in fit
    raise ValueError("bad shape")
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ValueError: bad shape
exit"#;
        let t = last_traceback(log.lines()).unwrap();
        assert_eq!(t.exception.as_deref(), Some("ValueError: bad shape"));
        let frames: Vec<(&str, u32, &str)> = t
            .frames
            .iter()
            .map(|f| (f.file.as_str(), f.line, f.function.as_str()))
            .collect();
        assert_eq!(
            frames,
            [
                ("/opt/ml/code/train.py", 9, "<module>"),
                ("/opt/ml/code/pkg/model.py", 42, "fit")
            ]
        );
        assert_eq!(exception_class("ValueError: bad shape"), "ValueError");
    }

    #[test]
    fn prefixed_lines_and_logs_without_a_traceback() {
        let log = [
            "[1,2]<stderr>:Traceback (most recent call last):",
            "[1,2]<stderr>:  File \"train.py\", line 5, in <module>",
            "[1,2]<stderr>:    1 / 0",
            "[1,2]<stderr>:ZeroDivisionError: division by zero",
        ];
        let t = last_traceback(log).unwrap();
        assert_eq!(t.frames[0].file, "train.py");
        assert_eq!(
            t.exception.as_deref(),
            Some("ZeroDivisionError: division by zero")
        );
        assert_eq!(last_traceback(["set -e", "exit 3"]), None);
    }
}
