//! `leads list` and `oc leads list`: listings printed page by page as they arrive, and, when one
//! fails part way, the command that resumes it.

use std::{borrow::Cow, io};

use futures_util::StreamExt;
use thingspace::{Error, PageSource, Pages};

use crate::{
    error::CliError,
    output::{Format, ListWriter},
    progress::ListProgress,
};

/// How a listing ended, once its output was ended.
#[derive(Debug)]
pub(crate) struct Listed {
    /// How many items were printed.
    pub(crate) count: u64,
    /// The failure that ended the listing early, if one did.
    pub(crate) failure: Option<Error>,
    /// Set when the user interrupted the listing (Ctrl-C): the cursor of the page that would
    /// have come next, when there is one.
    pub(crate) interrupted: Option<Option<String>>,
}

/// Prints the items of `pages` (`noun`s, singular and plural, for the progress line) with
/// `write` until the last page, `limit` items, or a failure
/// of the listing, flushing after each page; then ends the output, so that what was printed
/// stays valid (a JSON array is closed) even when the listing failed.
///
/// # Errors
/// A failure to write: [`CliError::Closed`] when the reader has gone away (the listing stops
/// there), [`CliError::Output`] otherwise. A failure of the listing itself is not an error
/// here but [`Listed::failure`], so the caller can say where to resume.
pub(crate) async fn print_pages<S, W>(
    mut pages: Pages<S>,
    mut writer: ListWriter<W>,
    limit: Option<u64>,
    noun: (&'static str, &'static str),
    write: impl Fn(&mut ListWriter<W>, &S::Item) -> io::Result<()>,
) -> Result<Listed, CliError>
where
    S: PageSource,
    W: io::Write,
{
    let progress = ListProgress::new(noun);
    let listed = print_items(&mut pages, &mut writer, limit, write, &progress).await;
    progress.done();
    let listed = listed?;
    match writer.finish() {
        Ok(_) => Ok(listed),
        // The listing's own failure says more than a failure to end the output after it.
        Err(_) if listed.failure.is_some() => Ok(listed),
        Err(e) => Err(e.into()),
    }
}

async fn print_items<S, W>(
    pages: &mut Pages<S>,
    writer: &mut ListWriter<W>,
    limit: Option<u64>,
    write: impl Fn(&mut ListWriter<W>, &S::Item) -> io::Result<()>,
    progress: &ListProgress,
) -> Result<Listed, CliError>
where
    S: PageSource,
    W: io::Write,
{
    writer.begin()?;
    let reached = |count: u64| limit.is_some_and(|l| count >= l);
    let (mut count, mut page_count) = (0u64, 0u64);
    // Ctrl-C between pages ends the listing as a failure would: the output closed, the
    // command that resumes it said. The first page has no cursor before it.
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut next_cursor: Option<String> = None;
    while !reached(count) {
        let next = tokio::select! {
            biased;
            _ = &mut interrupt => {
                return Ok(Listed {
                    count,
                    failure: None,
                    interrupted: Some(next_cursor),
                });
            }
            next = pages.next() => next,
        };
        let page = match next {
            None => break,
            Some(Ok(page)) => page,
            Some(Err(failure)) => {
                return Ok(Listed {
                    count,
                    failure: Some(failure),
                    interrupted: None,
                });
            }
        };
        next_cursor = page.next.as_ref().map(ToString::to_string);
        page_count += 1;
        for item in &page.items {
            if reached(count) {
                break;
            }
            write(writer, item)?;
            count += 1;
        }
        writer.flush()?;
        progress.update(count, page_count);
    }
    Ok(Listed {
        count,
        failure: None,
        interrupted: None,
    })
}

/// The end of a printed listing: `Ok` when it was complete. Otherwise its failure, after
/// saying on stderr how to resume when the failure carries a cursor: the words `resume` gives
/// for that cursor (the command, its flags and the cursor's flag), then `--output` and what is
/// left of `limit`.
///
/// # Errors
/// The listing's failure.
pub(crate) fn end_listing(
    listed: Listed,
    limit: Option<u64>,
    format: Format,
    resume: impl FnOnce(&str) -> Vec<String>,
) -> Result<(), CliError> {
    let hint = |cursor: &str| {
        let mut words = resume(cursor);
        words.extend(["--output".to_owned(), format.name().to_owned()]);
        if let Some(limit) = limit {
            words.extend([
                "--limit".to_owned(),
                limit.saturating_sub(listed.count).to_string(),
            ]);
        }
        crate::report(&resume_hint(&words, format));
    };
    if let Some(next) = listed.interrupted {
        if let Some(cursor) = next {
            hint(&cursor);
        }
        return Err(CliError::Interrupted);
    }
    let Some(failure) = listed.failure else {
        return Ok(());
    };
    if let Some(cursor) = failure.resume_cursor() {
        hint(cursor);
    }
    Err(failure.into())
}

/// The hint for a listing that failed: the command that resumes it, and, unless the format is
/// one item per line, that the resumed run's output is a document of its own.
pub(crate) fn resume_hint(words: &[String], format: Format) -> String {
    let command: Vec<Cow<'_, str>> = words.iter().map(|w| shell_word(w)).collect();
    let mut hint = format!("resume with: {}", command.join(" "));
    let separate = match format {
        Format::Json => Some("a new JSON array, not the rest of this one"),
        Format::Csv | Format::Table => Some("with a header row of its own"),
        Format::Ndjson => None,
    };
    if let Some(separate) = separate {
        hint.push_str(&format!(
            "\n(the resumed run prints a separate document: {separate})"
        ));
    }
    hint
}

/// `word` as one word of a POSIX shell command: as it is when it is plain, else single-quoted.
fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_hint_quotes_what_a_shell_would_split() {
        let hint = resume_hint(
            &words(&[
                "thingspace",
                "--config",
                "my dir/it's.toml",
                "--next",
                "-42",
            ]),
            Format::Ndjson,
        );
        assert_eq!(
            hint,
            r"resume with: thingspace --config 'my dir/it'\''s.toml' --next -42"
        );
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_hint_says_the_resumed_output_is_a_separate_document() {
        let json = resume_hint(&words(&["thingspace"]), Format::Json);
        assert!(json.contains("new JSON array"), "{json}");
        let csv = resume_hint(&words(&["thingspace"]), Format::Csv);
        assert!(csv.contains("header row"), "{csv}");
        assert_eq!(
            resume_hint(&words(&["x"]), Format::Ndjson).lines().count(),
            1
        );
    }
}
