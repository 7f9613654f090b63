//! Not published: the home of the workspace's examples (`examples/`) and cross-crate tests
//! (`tests/`). The library itself is empty; it exists so that `cargo test` compiles and runs
//! every Rust block of the workspace README.

/// The workspace README's code, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
