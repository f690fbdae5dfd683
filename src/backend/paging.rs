//! Following `NextToken`s safely: a service that repeats a token or never stops answering
//! with one ends the listing with an error instead of looping.

use std::collections::HashSet;

use super::BackendError;

/// Most pages one listing follows.
pub const MAX_PAGES: usize = 100_000;

/// The state of one paged listing.
pub struct Pager {
    what: String,
    pages: usize,
    seen: HashSet<String>,
}

impl Pager {
    /// A listing of `what` (named in errors).
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            pages: 0,
            seen: HashSet::new(),
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
        if !self.seen.insert(token.to_string()) {
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
}
