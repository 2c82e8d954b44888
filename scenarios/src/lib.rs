//! `scenarios`: scenario schema, validation and the runner. Not yet built: see issue "scenarios".
