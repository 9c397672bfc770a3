//! Cross-crate integration tests of moorline; the tests live in `tests/`.
