//! Bounded, UTF-8 safe views of bodies that are not the API's JSON.

/// The longest one-line summary taken from a text body, in characters.
const SUMMARY_CHARS: usize = 200;

/// The largest index at most `max` that is a character boundary of `text`.
pub(crate) fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn str_prefix(text: &str, max: usize) -> &str {
    &text[..floor_char_boundary(text, max)]
}

/// At most `max` bytes of text from the start of `bytes`: an incomplete character at the cut
/// is dropped, invalid sequences are replaced with U+FFFD (the result stays within `max`).
pub(crate) fn utf8_prefix(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let mut text = match std::str::from_utf8(cut) {
        Ok(text) => return text.to_owned(),
        // A character cut in half at the end: drop its first bytes.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&cut[..e.valid_up_to()]),
        Err(_) => String::from_utf8_lossy(cut),
    }
    .into_owned();
    // Each replacement character is three bytes where the input had one.
    let end = floor_char_boundary(&text, max);
    text.truncate(end);
    text
}

/// A one-line summary: an HTML page's `<title>` if it has one, else the first words.
pub(crate) fn summarize(text: &str) -> String {
    if let Some(title) = html_title(text) {
        let title = collapse(title, SUMMARY_CHARS);
        if !title.is_empty() {
            return title;
        }
    }
    collapse(text, SUMMARY_CHARS)
}

/// A one-line summary of text that is already a message (a JSON body's `message`).
pub(crate) fn summarize_line(text: &str) -> String {
    collapse(text, SUMMARY_CHARS)
}

/// The text of the first `<title>` element, looked for in an ASCII-case-insensitive way.
fn html_title(text: &str) -> Option<&str> {
    let open = find_ignore_ascii_case(text, "<title")?;
    let after_open = open + text[open..].find('>')? + 1;
    let len = find_ignore_ascii_case(&text[after_open..], "</title")?;
    Some(&text[after_open..after_open + len])
}

fn find_ignore_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    // `needle` is ASCII, so a match always starts on a character boundary.
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

/// Whitespace runs (newlines included) folded to one space, tags' angle brackets left as they
/// are, at most `max` characters with an ellipsis when cut.
fn collapse(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 2));
    let mut chars = 0;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if chars > 0 {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= max {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_never_split_a_character() {
        let text = "héllo wörld";
        for max in 0..=text.len() + 2 {
            let prefix = utf8_prefix(text.as_bytes(), max);
            assert!(text.starts_with(&prefix), "{max}: {prefix}");
            assert!(prefix.len() <= max);
        }
        assert_eq!(utf8_prefix(b"ab\xffcd", 10), "ab\u{fffd}cd");
    }

    #[test]
    fn html_pages_are_summarized_by_their_title() {
        let page = "<html>\r\n<head><TITLE>502 Bad Gateway</TITLE></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        assert_eq!(summarize(page), "502 Bad Gateway");
        assert_eq!(
            summarize("  upstream\n\tconnect error  "),
            "upstream connect error"
        );
        assert_eq!(summarize("<title></title>x"), "<title></title>x");
        let long = "word ".repeat(100);
        let summary = summarize(&long);
        assert_eq!(summary.chars().count(), SUMMARY_CHARS + 1);
        assert!(summary.ends_with('…'));
    }
}
