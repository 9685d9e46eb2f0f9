//! The Rust client SDK.
