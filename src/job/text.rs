//! Case-insensitive search in any Unicode text, with match ranges that fall on the
//! original text's character boundaries (lower-casing may change byte lengths).

use std::ops::Range;

/// A search needle, lower-cased once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needle {
    lower: String,
}

impl Needle {
    /// The needle for `text` (lower-cased character by character).
    pub fn new(text: &str) -> Self {
        Self { lower: lower(text) }
    }

    /// Whether the needle is empty (it matches nothing).
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Whether `haystack` contains the needle, ignoring case.
    pub fn is_in(&self, haystack: &str) -> bool {
        if self.lower.is_empty() {
            return false;
        }
        if haystack.is_ascii() && self.lower.is_ascii() {
            return ascii_find(haystack.as_bytes(), self.lower.as_bytes(), 0).is_some();
        }
        lower(haystack).contains(&self.lower)
    }

    /// The byte ranges of `haystack` that match, in order and not overlapping; each range
    /// starts and ends on a character boundary of `haystack`.
    pub fn find_all(&self, haystack: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.lower.is_empty() {
            return out;
        }
        if haystack.is_ascii() && self.lower.is_ascii() {
            let mut pos = 0;
            while let Some(start) = ascii_find(haystack.as_bytes(), self.lower.as_bytes(), pos) {
                pos = start + self.lower.len();
                out.push(start..pos);
            }
            return out;
        }
        // Lower-case with a map from each byte of the lower-cased text to the original
        // character it came from.
        let mut folded = String::with_capacity(haystack.len());
        let mut origin: Vec<(usize, usize)> = Vec::with_capacity(haystack.len());
        for (i, c) in haystack.char_indices() {
            let before = folded.len();
            folded.extend(c.to_lowercase());
            let span = (i, i + c.len_utf8());
            origin.extend(std::iter::repeat_n(span, folded.len() - before));
        }
        let mut pos = 0;
        while let Some(found) = folded[pos..].find(&self.lower) {
            let start = pos + found;
            let end = start + self.lower.len();
            let range = origin[start].0..origin[end - 1].1;
            match out.last_mut() {
                Some(last) if range.start < last.end => last.end = last.end.max(range.end),
                _ => out.push(range),
            }
            pos = end;
        }
        out
    }
}

/// What a terminal shows of a line redrawn with carriage returns (tqdm, Keras): each `\r`
/// goes back to the line's start and the text after it overwrites what was there.
pub fn terminal_view(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown: Vec<char> = Vec::new();
    for state in text.split('\r') {
        for (i, c) in state.chars().enumerate() {
            match shown.get_mut(i) {
                Some(slot) => *slot = c,
                None => shown.push(c),
            }
        }
    }
    std::borrow::Cow::Owned(shown.into_iter().collect())
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A run of digits with a comma every three from the right.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn lower(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// The first position at or after `from` where `needle` (already lower-case ASCII) occurs in
/// `haystack`, ignoring ASCII case.
fn ascii_find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| {
        haystack[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(h, n)| h.to_ascii_lowercase() == *n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits<'a>(needle: &str, hay: &'a str) -> Vec<&'a str> {
        Needle::new(needle)
            .find_all(hay)
            .into_iter()
            .map(|r| &hay[r])
            .collect()
    }

    #[test]
    fn carriage_returns_redraw_the_line_as_a_terminal_does() {
        assert_eq!(terminal_view("plain"), "plain");
        assert_eq!(
            terminal_view("\r 10%|#     | 1/10\r 50%|###   | 5/10\r100%|######| 10/10"),
            "100%|######| 10/10"
        );
        // A shorter state leaves the end of a longer one, as on a terminal.
        assert_eq!(terminal_view("loss=0.123456\rloss=0.5"), "loss=0.523456");
        assert_eq!(terminal_view("épo\rÉ"), "Épo");
        assert_eq!(terminal_view("done\r"), "done");
    }

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000_000), "10,000,000");
    }

    #[test]
    fn ascii_ignores_case() {
        assert_eq!(
            hits("loss", "Loss=1 LOSS=2 gloss"),
            ["Loss", "LOSS", "loss"]
        );
        assert!(Needle::new("ACC").is_in("val acc 0.9"));
        assert!(!Needle::new("x").is_in("abc"));
        assert!(hits("", "abc").is_empty());
    }

    #[test]
    fn byte_lengths_that_change_when_lower_cased() {
        // 'İ' lower-cases to two characters (3 bytes from 2), the Kelvin sign 'K' to one
        // ASCII byte (1 from 3): the lengths add up, the offsets do not.
        let line = "İİ\u{212A} marker line";
        assert_eq!(hits("k", line), ["\u{212A}", "k"]);
        assert_eq!(hits("i", line), ["İ", "İ", "i"]);
        assert_eq!(hits("marker", line), ["marker"]);
        assert_eq!(hits("ΑΣ", "ΌΛΟΙ ΣΑΣ"), ["ΑΣ"]);
        assert!(Needle::new("k").is_in(line));
        for needle in ["\u{307}", "i\u{307}", "ß", "e\u{301}"] {
            for r in Needle::new(needle).find_all("İstanbul straße café") {
                assert!("İstanbul straße café".get(r).is_some());
            }
        }
    }
}
