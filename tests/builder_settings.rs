//! Every setting of the async client's builder exists, under the same name, on the blocking
//! client's builder: the blocking builder forwards each one, and this test fails when a new
//! setting is added to one and not the other.

/// The names of the `pub fn`s in the `impl <ty> {` block of a source file.
fn methods(source: &str, ty: &str) -> std::collections::BTreeSet<String> {
    let start = source
        .find(&format!("\nimpl {ty} {{\n"))
        .unwrap_or_else(|| panic!("no `impl {ty}` block"));
    let block = &source[start + 1..];
    let block = &block[..block.find("\n}\n").expect("the impl block ends")];
    block
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub fn "))
        .map(|rest| rest.split(['(', '<']).next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_setting_of_the_async_builder_exists_on_the_blocking_one() {
    let settings = methods(
        include_str!("../crates/errors-http/src/client.rs"),
        "ApiClientBuilder",
    );
    let blocking = methods(
        include_str!("../crates/errors-blocking/src/client.rs"),
        "ClientBuilder",
    );
    // Sanity: the parser sees the settings at all.
    for expected in ["api_key", "user_agent", "with_client", "build"] {
        assert!(settings.contains(expected), "{settings:?}");
    }
    let missing: Vec<_> = settings.difference(&blocking).collect();
    assert!(
        missing.is_empty(),
        "settings of errors_http::ApiClientBuilder missing on errors_blocking::ClientBuilder: {missing:?}"
    );
}
