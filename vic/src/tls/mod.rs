//! VIC TLS material (vic.md §4). Being written.
