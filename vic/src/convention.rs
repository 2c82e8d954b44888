//! The containerVM name convention (`--container-name-convention`, vic.md §2). Being written.
