//! Pagination: a family describes how it pages with [`PageSource`]; [`Pages`] and [`Items`]
//! turn that into streams that fetch one page ahead, refuse to loop, and can resume.

use std::{
    collections::HashSet,
    fmt,
    hash::Hash,
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use futures_core::Stream;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, Result};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T, C> {
    /// The items of this page, in server order.
    pub items: Vec<T>,
    /// The cursor this page was fetched with (`None` for the first page).
    pub cursor: Option<C>,
    /// The cursor of the next page, when the server gave one.
    pub next: Option<C>,
    /// Whether the server said more pages follow.
    pub has_more: bool,
    /// Why a page that says more follow has no cursor, when the family knows (the listing's
    /// error then says so).
    why_no_next: Option<String>,
}

impl<T, C> Page<T, C> {
    /// A page that says more follow, at `next` (which may be missing: the driver then fails).
    pub fn more(items: Vec<T>, next: Option<C>) -> Self {
        Self {
            items,
            cursor: None,
            next,
            has_more: true,
            why_no_next: None,
        }
    }

    /// A page that says more follow, but whose cursor is unusable for the reason `why`: its
    /// items are delivered, then the listing ends with [`ErrorKind::Pagination`] saying `why`,
    /// with no resume cursor (resuming here would repeat the page, and there is no later one).
    pub fn more_without_cursor(items: Vec<T>, why: impl Into<String>) -> Self {
        Self {
            items,
            cursor: None,
            next: None,
            has_more: true,
            why_no_next: Some(why.into()),
        }
    }

    /// The last page.
    pub fn last(items: Vec<T>) -> Self {
        Self {
            items,
            cursor: None,
            next: None,
            has_more: false,
            why_no_next: None,
        }
    }
}

/// How a family fetches one page of a listing.
///
/// The cursor is whatever the family pages by: an opaque token, a page number. It must print
/// as text ([`fmt::Display`]) so a failed listing can report where to resume.
///
/// A plain trait: write [`fetch_page`](Self::fetch_page) as an `async fn`, with no macro.
///
/// ```
/// use thingspace_core::{Page, PageSource, Pages, Result};
///
/// /// Three pages of one number each, the cursor being the page number.
/// struct Numbers;
///
/// impl PageSource for Numbers {
///     type Item = u32;
///     type Cursor = u32;
///
///     async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<u32, u32>> {
///         let n = cursor.unwrap_or(1);
///         Ok(if n == 3 { Page::last(vec![n]) } else { Page::more(vec![n], Some(n + 1)) })
///     }
/// }
///
/// # async fn run() -> Result<()> {
/// assert_eq!(Pages::new(Numbers).items().collect_all().await?, [1, 2, 3]);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
///
/// It is not `dyn`-compatible: [`Pages`] is generic over its source, which it moves to the
/// task that fetches ahead. To hide a listing's type, erase the stream instead (a
/// `Pin<Box<dyn Stream<Item = Result<T>> + Send>>` of its [`Items`]), or build it with
/// [`Pages::from_fn`] from a boxed closure.
pub trait PageSource: Send + Sync + 'static {
    /// The item type.
    type Item: Send + 'static;
    /// The cursor type.
    type Cursor: Clone + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static;

    /// Fetches the page at `cursor` (`None`: the first page).
    ///
    /// The future is `Send`: [`Pages`] fetches the next page on a task of its own while the
    /// caller works on the current one. An `async fn` is, as long as what it holds across an
    /// `.await` is.
    fn fetch_page(
        &self,
        cursor: Option<Self::Cursor>,
    ) -> impl Future<Output = Result<Page<Self::Item, Self::Cursor>>> + Send;

    /// A digest of a page's items, when the family can tell pages apart: two pages in a row
    /// with the same digest (a server or a cache that ignores the cursor and serves the same
    /// page under fresh cursors) end the listing instead of repeating it. `None` (the default)
    /// skips the check.
    fn fingerprint(&self, items: &[Self::Item]) -> Option<u64> {
        let _ = items;
        None
    }

    /// The operation a page request is (such as `m2m.leads.list`), named in the listing's own
    /// errors (a broken cursor, a bound passed). `None` (the default) names none.
    fn operation(&self) -> Option<&'static str> {
        None
    }
}

/// A digest of `keys` (a page's item ids, say), for [`PageSource::fingerprint`].
pub fn digest<K: Hash>(keys: impl IntoIterator<Item = K>) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    let mut n = 0u64;
    for key in keys {
        key.hash(&mut hasher);
        n += 1;
    }
    hasher.write_u64(n);
    hasher.finish()
}

/// Bounds on what a listing accepts from a server before it calls the paging broken: no real
/// service answers more pages than an account can fill, nor "more" with nothing, again and
/// again. Set them with [`Pages::with_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageLimits {
    /// The most pages one listing fetches (100,000 by default: 100 million leads at 1,000 a
    /// page, 200 million devices at 2,000).
    pub max_pages: u64,
    /// The most pages in a row that say more follow and hold nothing (5 by default).
    pub max_empty_in_a_row: u32,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            max_pages: 100_000,
            max_empty_in_a_row: 5,
        }
    }
}

impl PageLimits {
    /// At most `pages` pages.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages;
        self
    }

    /// At most `pages` empty "more" pages in a row.
    pub fn max_empty_in_a_row(mut self, pages: u32) -> Self {
        self.max_empty_in_a_row = pages;
        self
    }
}

type Fetch<S> = JoinHandle<Result<Page<<S as PageSource>::Item, <S as PageSource>::Cursor>>>;

/// A [`PageSource`] made of a closure: `Pages::from_fn(|cursor| async move { ... })`.
pub struct FnSource<F, T, C> {
    fetch: F,
    _page: PhantomData<fn() -> (T, C)>,
}

impl<F, T, C> fmt::Debug for FnSource<F, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnSource").finish_non_exhaustive()
    }
}

impl<F, Fut, T, C> PageSource for FnSource<F, T, C>
where
    F: Fn(Option<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T, C>>> + Send + 'static,
    T: Send + 'static,
    C: Clone + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static,
{
    type Item = T;
    type Cursor = C;

    fn fetch_page(&self, cursor: Option<C>) -> impl Future<Output = Result<Page<T, C>>> + Send {
        (self.fetch)(cursor)
    }
}

/// Where a listing stands: the state machine behind [`Pages`].
enum State<S: PageSource> {
    /// Next: fetch the page at this cursor (`None`: the first page).
    Ready(Option<S::Cursor>),
    /// The page at `cursor` is being fetched.
    Fetching {
        cursor: Option<S::Cursor>,
        fetch: Fetch<S>,
    },
    /// The last page delivered broke paging's rules: this error comes next, then the end.
    Failing(Error),
    /// Ended.
    Done,
}

/// A stream of pages. While the caller works on one page the next is already being fetched
/// (never more than one ahead), so memory stays at about two pages.
///
/// It ends after a page that says no more follow. It fails, and then ends, when a page says
/// more follow without a cursor, or names a cursor already seen in this listing; when a fetch
/// fails (after the client's retries) the error carries the cursor to resume from
/// ([`Error::resume_cursor`]). Dropping the stream cancels the fetch in flight.
pub struct Pages<S: PageSource> {
    source: Arc<S>,
    state: State<S>,
    seen: HashSet<S::Cursor>,
    limits: PageLimits,
    /// Pages fetched so far.
    fetched: u64,
    /// Empty "more" pages in a row, up to the last one.
    empty_in_a_row: u32,
    /// The digest of the last page, when the source gives them.
    last_fingerprint: Option<u64>,
}

impl<S: PageSource> fmt::Debug for Pages<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready(_) => "ready",
            State::Fetching { .. } => "fetching",
            State::Failing(_) => "failing",
            State::Done => "done",
        };
        f.debug_struct("Pages")
            .field("state", &state)
            .field("pages_seen", &self.seen.len())
            .finish()
    }
}

impl<S: PageSource> Pages<S> {
    /// Pages of `source` from the first page.
    pub fn new(source: S) -> Self {
        Self::starting_at(source, None)
    }

    /// Pages of `source` from `cursor` (resume a listing), or from the first page for `None`.
    pub fn starting_at(source: S, cursor: Option<S::Cursor>) -> Self {
        let mut seen = HashSet::new();
        if let Some(c) = &cursor {
            seen.insert(c.clone());
        }
        Self {
            source: Arc::new(source),
            state: State::Ready(cursor),
            seen,
            limits: PageLimits::default(),
            fetched: 0,
            empty_in_a_row: 0,
            last_fingerprint: None,
        }
    }

    /// This listing, refused before it fetches anything: its first and only item is `err`.
    ///
    /// A family returns it for inputs it refuses before any request (an empty account name, a
    /// page size out of range), so that a listing is one stream, handled with one `?` where
    /// its items are read, like every other failure of the listing:
    ///
    /// ```
    /// use futures_util::TryStreamExt;
    /// use thingspace_core::{Error, ErrorKind, Page, Pages};
    ///
    /// # async fn run() {
    /// let mut items = Pages::from_fn(|_: Option<u32>| async { Ok(Page::last(vec![1, 2])) })
    ///     .refused(Error::invalid_input("the listing needs an account name"))
    ///     .items();
    /// let err = items.try_next().await.expect_err("refused");
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// assert!(items.try_next().await.expect("ended").is_none());
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run());
    /// ```
    pub fn refused(mut self, err: Error) -> Self {
        if let State::Fetching { fetch, .. } = &self.state {
            fetch.abort();
        }
        self.state = State::Failing(err);
        self
    }

    /// This listing, or, when `check` failed, the listing [`refused`](Self::refused) with its
    /// error: how a family's listing method puts its input check in the stream.
    pub fn checked(self, check: Result<()>) -> Self {
        match check {
            Ok(()) => self,
            Err(err) => self.refused(err),
        }
    }

    /// The listing with these bounds instead of the defaults.
    pub fn with_limits(mut self, limits: PageLimits) -> Self {
        self.limits = limits;
        self
    }

    /// `err`, naming the source's operation.
    fn named(&self, err: Error) -> Error {
        match self.source.operation() {
            Some(operation) => err.with_operation(operation),
            None => err,
        }
    }

    /// The error for `page`, fetched at `cursor`, when it breaks the listing's bounds: too
    /// many pages (resumable from this page, with a higher bound), too many empty "more" pages
    /// in a row, or the same page as the one before (neither resumable: the server would
    /// answer the same).
    fn beyond_bounds(
        &mut self,
        page: &Page<S::Item, S::Cursor>,
        cursor: &Option<S::Cursor>,
    ) -> Option<Error> {
        self.fetched += 1;
        if self.fetched > self.limits.max_pages {
            let err = Error::new(
                ErrorKind::Pagination,
                format!(
                    "the listing passed {} pages, more than any account holds; stopping (raise PageLimits::max_pages to go on)",
                    self.limits.max_pages
                ),
            );
            return Some(with_cursor(self.named(err), cursor));
        }
        if page.items.is_empty() && page.has_more {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row > self.limits.max_empty_in_a_row {
                return Some(self.named(Error::new(
                    ErrorKind::Pagination,
                    format!(
                        "the server answered {} empty pages in a row that said more follow; stopping instead of looping",
                        self.empty_in_a_row
                    ),
                )));
            }
        } else {
            self.empty_in_a_row = 0;
        }
        let fingerprint = self.source.fingerprint(&page.items);
        if !page.items.is_empty()
            && fingerprint.is_some()
            && std::mem::replace(&mut self.last_fingerprint, fingerprint) == fingerprint
        {
            return Some(self.named(Error::new(
                ErrorKind::Pagination,
                "the server sent the same page again under another cursor (it may ignore the cursor); stopping instead of repeating it",
            )));
        }
        None
    }

    /// The items of every page, one by one.
    pub fn items(self) -> Items<S> {
        Items {
            pages: self,
            buffer: Vec::new().into_iter(),
        }
    }

    fn fetch(&self, cursor: Option<S::Cursor>) -> State<S> {
        let source = self.source.clone();
        let c = cursor.clone();
        // The fetch runs in the caller's span, so its logs nest where the listing started.
        let fetch = tokio::spawn(async move { source.fetch_page(c).await }.in_current_span());
        State::Fetching { cursor, fetch }
    }

    /// What follows a delivered `page`: the next fetch, started now (so the server works while
    /// the caller does), an error for a page that broke paging's rules, or the end.
    fn after(&mut self, page: &Page<S::Item, S::Cursor>) -> State<S> {
        if !page.has_more {
            return State::Done;
        }
        // These two errors come after a page that is delivered whole: they carry no cursor,
        // since resuming from this page's own would deliver its items twice, and there is no
        // later one to give.
        match &page.next {
            None => State::Failing(self.named(Error::new(
                ErrorKind::Pagination,
                page.why_no_next.clone().unwrap_or_else(|| {
                    "the server said more data follows but gave no cursor for it".to_owned()
                }),
            ))),
            Some(next) if !self.seen.insert(next.clone()) => {
                State::Failing(self.named(Error::new(
                    ErrorKind::Pagination,
                    format!("the server repeated cursor {next}; stopping instead of looping"),
                )))
            }
            Some(next) => self.fetch(Some(next.clone())),
        }
    }
}

impl<F, Fut, T, C> Pages<FnSource<F, T, C>>
where
    F: Fn(Option<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T, C>>> + Send + 'static,
    T: Send + 'static,
    C: Clone + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static,
{
    /// Pages fetched by `fetch`, given the cursor of each page (`None` for the first), with no
    /// [`PageSource`] type to write.
    ///
    /// ```
    /// use thingspace_core::{Page, Pages};
    ///
    /// # async fn run() -> thingspace_core::Result<()> {
    /// // Three pages of numbers, the cursor being the page number.
    /// let items = Pages::from_fn(|page: Option<u32>| async move {
    ///     let n = page.unwrap_or(1);
    ///     let items = vec![n * 10, n * 10 + 1];
    ///     Ok(if n == 3 { Page::last(items) } else { Page::more(items, Some(n + 1)) })
    /// })
    /// .items()
    /// .collect_all()
    /// .await?;
    /// assert_eq!(items, [10, 11, 20, 21, 30, 31]);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
    /// ```
    pub fn from_fn(fetch: F) -> Self {
        Self::from_fn_at(fetch, None)
    }

    /// As [`from_fn`](Self::from_fn), resuming at `cursor`.
    pub fn from_fn_at(fetch: F, cursor: Option<C>) -> Self {
        Self::starting_at(
            FnSource {
                fetch,
                _page: PhantomData,
            },
            cursor,
        )
    }
}

// No field is ever pinned: the streams move their items and cursors freely.
impl<S: PageSource> Unpin for Pages<S> {}
impl<S: PageSource> Unpin for Items<S> {}

impl<S: PageSource> Drop for Pages<S> {
    fn drop(&mut self) {
        if let State::Fetching { fetch, .. } = &self.state {
            fetch.abort();
        }
    }
}

fn with_cursor<C: fmt::Display>(err: Error, cursor: &Option<C>) -> Error {
    match cursor {
        Some(c) => err.with_resume_cursor(c.to_string()),
        None => err,
    }
}

impl<S: PageSource> Stream for Pages<S> {
    type Item = Result<Page<S::Item, S::Cursor>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Failing(err) => return Poll::Ready(Some(Err(err))),
                State::Ready(cursor) => this.state = this.fetch(cursor),
                State::Fetching { cursor, mut fetch } => {
                    let joined = match Pin::new(&mut fetch).poll(cx) {
                        Poll::Pending => {
                            this.state = State::Fetching { cursor, fetch };
                            return Poll::Pending;
                        }
                        Poll::Ready(joined) => joined,
                    };
                    let mut page = match joined {
                        Ok(Ok(page)) => page,
                        Ok(Err(err)) => return Poll::Ready(Some(Err(with_cursor(err, &cursor)))),
                        Err(join) => {
                            // A panic is a bug, not a network failure: it must not read as retryable.
                            let err = if join.is_panic() {
                                Error::new(ErrorKind::Pagination, "the page fetch panicked")
                            } else {
                                Error::new(ErrorKind::Transport, "the page fetch was cancelled")
                            }
                            .with_source(join);
                            let err = this.named(err);
                            return Poll::Ready(Some(Err(with_cursor(err, &cursor))));
                        }
                    };
                    if let Some(err) = this.beyond_bounds(&page, &cursor) {
                        return Poll::Ready(Some(Err(err)));
                    }
                    page.cursor = cursor;
                    this.state = this.after(&page);
                    return Poll::Ready(Some(Ok(page)));
                }
            }
        }
    }
}

/// A stream of the items of every page, fetched one page ahead. See [`Pages`].
pub struct Items<S: PageSource> {
    pages: Pages<S>,
    /// The rest of the current page: handed out in place, never copied into another buffer.
    buffer: std::vec::IntoIter<S::Item>,
}

impl<S: PageSource> fmt::Debug for Items<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<S: PageSource> Items<S> {
    /// Collects every item.
    ///
    /// # Errors
    /// The first error of the listing (items before it are dropped; use the stream to keep them).
    pub async fn collect_all(mut self) -> Result<Vec<S::Item>> {
        let mut out = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
            out.push(item?);
        }
        Ok(out)
    }
}

impl<S: PageSource> Stream for Items<S> {
    type Item = Result<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.buffer = page.items.into_iter(),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::sync::Mutex;

    /// Pages of `per_page` numbers up to `total`; `script` overrides what a cursor returns.
    #[derive(Default)]
    struct Numbers {
        total: u32,
        per_page: u32,
        fail_at: Option<u32>,
        repeat_at: Option<u32>,
        no_cursor_at: Option<u32>,
        calls: Mutex<Vec<Option<u32>>>,
    }

    impl PageSource for Numbers {
        type Item = u32;
        type Cursor = u32;

        async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<u32, u32>> {
            self.calls.lock().expect("lock").push(cursor);
            let start = cursor.unwrap_or(0);
            if self.fail_at == Some(start) {
                return Err(Error::new(ErrorKind::Api, "boom"));
            }
            let end = (start + self.per_page).min(self.total);
            let items: Vec<u32> = (start..end).collect();
            if end >= self.total {
                return Ok(Page::last(items));
            }
            if self.no_cursor_at == Some(start) {
                return Ok(Page::more(items, None));
            }
            let next = if self.repeat_at == Some(start) {
                start
            } else {
                end
            };
            Ok(Page::more(items, Some(next)))
        }
    }

    #[tokio::test]
    async fn yields_every_item_once_in_order() {
        let items = Pages::new(Numbers {
            total: 25,
            per_page: 10,
            ..Default::default()
        })
        .items()
        .collect_all()
        .await
        .expect("all");
        assert_eq!(items, (0..25).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn pages_carry_their_cursor_and_resume() {
        let pages: Vec<_> = Pages::starting_at(
            Numbers {
                total: 30,
                per_page: 10,
                ..Default::default()
            },
            Some(10),
        )
        .collect()
        .await;
        let pages: Vec<_> = pages.into_iter().map(|p| p.expect("page")).collect();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].cursor, Some(10));
        assert_eq!(pages[1].cursor, Some(20));
        assert_eq!(pages[1].items, (20..30).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_failure_carries_the_cursor_to_resume_from() {
        let mut s = Pages::new(Numbers {
            total: 30,
            per_page: 10,
            fail_at: Some(20),
            ..Default::default()
        })
        .items();
        let mut got = Vec::new();
        let err = loop {
            match s.next().await {
                Some(Ok(i)) => got.push(i),
                Some(Err(e)) => break e,
                None => panic!("expected an error"),
            }
        };
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        assert_eq!(err.resume_cursor(), Some("20"));
        assert!(s.next().await.is_none(), "the stream ends after an error");
        let rest = Pages::starting_at(
            Numbers {
                total: 30,
                per_page: 10,
                ..Default::default()
            },
            Some(20),
        )
        .items()
        .collect_all()
        .await
        .expect("rest");
        got.extend(rest);
        assert_eq!(got, (0..30).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_with_a_typed_error() {
        let mut s = Pages::new(Numbers {
            total: 100,
            per_page: 10,
            repeat_at: Some(10),
            ..Default::default()
        });
        assert!(s.next().await.expect("p1").is_ok());
        assert!(s.next().await.expect("p2").is_ok());
        let e = s.next().await.expect("error").expect_err("repeat");
        assert_eq!(e.kind(), ErrorKind::Pagination);
        // Every page was delivered: a cursor to resume from would deliver one twice.
        assert_eq!(e.resume_cursor(), None);
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn a_resume_cursor_answered_with_itself_delivers_the_page_once() {
        let source = Numbers {
            total: 100,
            per_page: 10,
            repeat_at: Some(20),
            ..Default::default()
        };
        let mut s = Pages::starting_at(source, Some(20)).items();
        let mut got = Vec::new();
        let err = loop {
            match s.next().await {
                Some(Ok(i)) => got.push(i),
                Some(Err(e)) => break e,
                None => panic!("expected an error"),
            }
        };
        assert_eq!(got, (20..30).collect::<Vec<_>>(), "the page once");
        assert_eq!(err.kind(), ErrorKind::Pagination);
        assert!(err.to_string().contains("repeated cursor 20"), "{err}");
        assert_eq!(err.resume_cursor(), None);
        assert_eq!(
            *s.pages.source.calls.lock().expect("lock"),
            [Some(20)],
            "the page is not asked for again"
        );
    }

    #[tokio::test]
    async fn more_without_a_cursor_ends_with_a_typed_error() {
        let mut s = Pages::new(Numbers {
            total: 100,
            per_page: 10,
            no_cursor_at: Some(0),
            ..Default::default()
        });
        assert!(s.next().await.expect("p1").is_ok());
        let e = s.next().await.expect("error").expect_err("no cursor");
        assert_eq!(e.kind(), ErrorKind::Pagination);
        assert_eq!(e.resume_cursor(), None);
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn fetches_exactly_one_page_ahead() {
        let source = Numbers {
            total: 100,
            per_page: 10,
            ..Default::default()
        };
        let mut s = Pages::new(source);
        let _first = s.next().await.expect("p1").expect("ok");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let calls = s.source.calls.lock().expect("lock").clone();
        assert_eq!(
            calls,
            vec![None, Some(10)],
            "the second page is prefetched, the third is not"
        );
    }

    #[tokio::test]
    async fn a_panicking_fetch_is_a_typed_error_that_is_not_retried() {
        struct Panics;
        impl PageSource for Panics {
            type Item = u32;
            type Cursor = u32;
            async fn fetch_page(&self, _: Option<u32>) -> Result<Page<u32, u32>> {
                panic!("a family bug");
            }
        }
        let mut s = Pages::new(Panics);
        let e = s.next().await.expect("error").expect_err("panicked");
        assert_eq!(e.kind(), ErrorKind::Pagination, "{e}");
        assert!(!e.is_retryable(), "{e}");
        assert!(s.next().await.is_none());
    }

    /// Never ends: pages of `items` (the same every time when `same`), under fresh cursors.
    struct Endless {
        items: Vec<u32>,
        calls: std::sync::atomic::AtomicU32,
    }

    impl PageSource for Endless {
        type Item = u32;
        type Cursor = u32;

        async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<u32, u32>> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Page::more(
                self.items.clone(),
                Some(cursor.unwrap_or(0) + 1),
            ))
        }

        fn fingerprint(&self, items: &[u32]) -> Option<u64> {
            Some(digest(items))
        }
    }

    fn endless(items: Vec<u32>) -> Endless {
        Endless {
            items,
            calls: std::sync::atomic::AtomicU32::new(0),
        }
    }

    #[tokio::test]
    async fn a_listing_that_never_ends_is_bounded() {
        // Empty "more" pages forever: stopped after five in a row.
        let mut pages = Pages::new(endless(Vec::new()));
        let mut delivered = 0;
        let err = loop {
            match pages.next().await.expect("an error before the end") {
                Ok(_) => delivered += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::Pagination);
        assert!(err.to_string().contains("empty pages in a row"), "{err}");
        assert_eq!(delivered, 5);
        assert!(pages.next().await.is_none());

        // The same page under fresh cursors: the first delivered, the repeat refused.
        let mut pages = Pages::new(endless(vec![1, 2, 3]));
        assert_eq!(
            pages.next().await.expect("page").expect("first").items,
            [1, 2, 3]
        );
        let err = pages
            .next()
            .await
            .expect("error")
            .expect_err("the same page");
        assert!(err.to_string().contains("same page again"), "{err}");
        assert_eq!(err.resume_cursor(), None);

        // A page count no account reaches: stopped, resumable with a higher bound.
        let source = Pages::from_fn(|c: Option<u32>| async move {
            let n = c.unwrap_or(0);
            Ok(Page::more(vec![n], Some(n + 1)))
        })
        .with_limits(PageLimits::default().max_pages(3));
        let mut items = source.items();
        let mut got = Vec::new();
        let err = loop {
            match items.next().await.expect("an error before the end") {
                Ok(n) => got.push(n),
                Err(e) => break e,
            }
        };
        assert_eq!(got, [0, 1, 2]);
        assert!(err.to_string().contains("max_pages"), "{err}");
        assert_eq!(err.resume_cursor(), Some("3"));
    }
}
