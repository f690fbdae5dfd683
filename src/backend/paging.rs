//! Following `NextToken`s safely: a service that repeats a token or never stops answering
//! with one ends the listing with an error instead of looping. Only a hash of each token
//! is kept, so a service handing out huge tokens costs no memory.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::BackendError;

/// Most pages one listing follows: a million training jobs at 100 a page, or ten million
/// S3 keys at 1,000.
pub const MAX_PAGES: usize = 10_000;

/// The state of one paged listing.
pub struct Pager {
    what: String,
    pages: usize,
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl Pager {
    /// A listing of `what` (named in errors).
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            pages: 0,
            seen: HashSet::new(),
            hasher: RandomState::new(),
        }
    }

    /// The token for the next page from the one a page returned (`None` or empty: the
    /// end); an error for a token seen before or past [`MAX_PAGES`].
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>, BackendError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        self.pages += 1;
        if self.pages >= MAX_PAGES {
            return Err(BackendError::internal(format!(
                "{}: the listing did not end after {MAX_PAGES} pages",
                self.what
            )));
        }
        if !self.seen.insert(self.hasher.hash_one(token)) {
            return Err(BackendError::internal(format!(
                "{}: the service repeated a page token; the listing stopped there",
                self.what
            )));
        }
        Ok(Some(token.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_on_no_token_and_refuses_a_repeat() {
        let mut pager = Pager::new("streams");
        assert_eq!(pager.next(Some("a")).unwrap().as_deref(), Some("a"));
        assert_eq!(pager.next(Some("b")).unwrap().as_deref(), Some("b"));
        assert_eq!(pager.next(None).unwrap(), None);
        assert_eq!(pager.next(Some("")).unwrap(), None);
        let e = pager.next(Some("a")).unwrap_err();
        assert!(e.message.contains("streams: the service repeated"), "{e}");
    }

    #[test]
    fn a_new_huge_token_on_every_page_ends_at_the_page_limit() {
        let mut pager = Pager::new("jobs");
        let mut token = vec![b'a'; 64 << 10];
        let mut pages = 0;
        let error = loop {
            // A new 64 KiB token each time: only its hash is kept.
            let n = pages.to_string();
            token[..n.len()].copy_from_slice(n.as_bytes());
            match pager.next(Some(std::str::from_utf8(&token).unwrap())) {
                Ok(_) => pages += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(pages, MAX_PAGES - 1);
        assert!(error.message.contains("did not end after"), "{error}");
        assert!(pager.seen.len() < MAX_PAGES);
    }
}
