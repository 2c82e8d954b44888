//! vic integration tests (one binary; modules per area).
